/**
 * Headless command groups beyond `guest`, each registered from its own module (disk, backup,
 * snapshot…). One line per group, so a new group touches nothing else in the CLI.
 */
import type { Command } from 'commander';
import { registerBackupCommands } from './backup.js';
import { registerBackupCopyCommands } from './backupCopy.js';
import { registerBackupDrillCommands } from './backupDrill.js';
import { registerBackupInstantCommands } from './backupInstant.js';
import { registerBackupRestoreCommands } from './backupRestore.js';
import { registerDiskCommands } from './disk.js';
import { registerDiskConvertCommands } from './diskConvert.js';
import { registerDiskExpandCommands } from './diskExpand.js';
import { registerDoctorCommands } from './doctor.js';
import { registerHostCommands } from './hostEvacuate.js';
import { registerImportCommands } from './import.js';
import { registerJobCommands } from './job.js';
import type { CommandKit } from './kit.js';
import { registerMergeIdeCommands } from './mergeide.js';
import { registerP2vCommands } from './p2v.js';
import { registerSnapshotCommands } from './snapshot.js';
import { registerTopCommands } from './top.js';

export type RegisterCommands = (program: Command, kit: CommandKit) => void;

export const COMMAND_GROUPS: RegisterCommands[] = [
  registerBackupCommands,
  registerBackupRestoreCommands,
  registerBackupInstantCommands,
  registerBackupDrillCommands,
  registerBackupCopyCommands,
  registerDiskCommands,
  registerDiskConvertCommands,
  registerDiskExpandCommands,
  registerImportCommands,
  registerP2vCommands,
  registerMergeIdeCommands,
  registerSnapshotCommands,
  registerDoctorCommands,
  registerJobCommands,
  registerTopCommands,
  registerHostCommands,
];
