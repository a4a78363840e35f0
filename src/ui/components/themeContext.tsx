/**
 * The theme in effect, for any component. Its own module so Text (which every component uses,
 * Frame included) can read it without an import cycle.
 */
import { createContext, type ReactNode, useContext } from 'react';
import { chooseTheme, type Theme } from '../theme.js';

const ThemeContext = createContext<Theme>(chooseTheme(process.env));

export function ThemeProvider({ theme, children }: { theme: Theme; children: ReactNode }) {
  return <ThemeContext.Provider value={theme}>{children}</ThemeContext.Provider>;
}

export function useTheme(): Theme {
  return useContext(ThemeContext);
}
