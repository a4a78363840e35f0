/**
 * Headless command groups beyond `guest`, each registered from its own module (disk, backup,
 * snapshot…). One line per group, so a new group touches nothing else in the CLI.
 */
import type { Command } from 'commander';
import type { CommandKit } from './program.js';

export type RegisterCommands = (program: Command, kit: CommandKit) => void;

export const COMMAND_GROUPS: RegisterCommands[] = [];
