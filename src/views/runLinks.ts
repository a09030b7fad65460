/**
 * Opening a run from the views that list runs they did not start themselves (a
 * schedule's history, a pipeline run's steps): in the side panel's Runs tab, or
 * its executed notebook in the lab.
 */
import { ServerConnection } from '@jupyterlab/services';

import { materializeOutput } from '../api';
import { CommandIDs } from '../commandIds';

/** What the views need of the app's `CommandRegistry`. */
export interface ICommands {
  execute(command: string, args?: { [key: string]: string }): Promise<unknown>;
}

/** Show the run in the side panel's Runs tab (its detail view). */
export function showRunInPanel(commands: ICommands, runId: string): Promise<unknown> {
  return commands.execute(CommandIDs.openPanel, { tab: 'runs', id: runId });
}

/**
 * Write the run's output notebook under the server root (`POST runs/{id}/output`)
 * and open it in the lab.
 *
 * @throws {MLOpsAPIError} When the run has no output notebook (yet).
 */
export async function openRunOutput(
  commands: ICommands,
  runId: string,
  serverSettings?: ServerConnection.ISettings
): Promise<void> {
  const path = await materializeOutput(runId, serverSettings);
  await commands.execute('docmanager:open', { path });
}
