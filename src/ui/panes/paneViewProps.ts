/** The area a pane's view fills, between the tabs and the footer (its own detail strip included). */
export interface PaneViewProps {
  width: number;
  height: number;
}
