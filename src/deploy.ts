/**
 * One-click deploy from a notebook: a "Deploy" button on every notebook's
 * toolbar and the `mlops:deploy-notebook` command.
 *
 * The notebook is saved, then deployed through `POST /mlops/api/deploy/notebook`:
 * the server deploys the model registered by the notebook's latest successful
 * run, or runs the notebook headlessly first. In that second case, when the
 * notebook has a `parameters` cell, the parameters form is shown first.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, ToolbarButton } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { launchIcon } from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';

import {
  DeployTarget,
  getNotebookParameters,
  IParameterSpec,
  IRun,
  isNotFound,
  latestSuccessfulRun,
  listMonitors,
  showError
} from './api';
import { showDeployDialog } from './dialogs/DeployDialog';
import { DeployParametersBody } from './dialogs/DeployParametersForm';
import { SubmitDialog } from './dialogs/SubmitDialog';
import type { PanelModel } from './panel/model';
import { addNotebookToolbarButton } from './toolbar';

export namespace DeployCommandIDs {
  export const deployNotebook = 'mlops:deploy-notebook';
}

/** What the deploy needs to know before it starts. */
export interface IDeployPlan {
  /** The server will run the notebook (no successful run yet). */
  needsRun: boolean;
  parameters: IParameterSpec[];
  latestRun: IRun | null;
}

/**
 * Whether the notebook needs a run and which parameters it has.
 *
 * "Needs a run" is judged from the notebook's latest successful run: the
 * server deploys what that run registered (and runs the notebook with its
 * defaults if it registered nothing).
 */
export async function planDeploy(
  path: string,
  serverSettings?: ServerConnection.ISettings
): Promise<IDeployPlan> {
  const [description, latestRun] = await Promise.all([
    getNotebookParameters(path, serverSettings).catch(err => {
      if (isNotFound(err)) {
        return null; // the runs feature is not on this server: no form
      }
      throw err;
    }),
    latestSuccessfulRun(path, serverSettings).catch(err => {
      if (isNotFound(err)) {
        return null;
      }
      throw err;
    })
  ]);
  return {
    needsRun: latestRun === null,
    parameters: description?.parameters ?? [],
    latestRun
  };
}

/**
 * Deploy the notebook of `panel`: save, plan, parameters form when needed,
 * then the progress dialog.
 */
export async function deployNotebookPanel(
  panel: NotebookPanel,
  target: DeployTarget,
  options: {
    serverSettings?: ServerConnection.ISettings;
    showDeployment?: (deploymentId: string) => void;
    showDrift?: (deploymentId: string) => void;
  } = {}
): Promise<void> {
  const { serverSettings } = options;
  const context = panel.context;
  if (context.model.dirty && !context.model.readOnly) {
    await context.save();
  }
  const path = context.path;
  let plan: IDeployPlan;
  try {
    plan = await planDeploy(path, serverSettings);
  } catch (err) {
    showError(err, `Deploying ${path}`);
    return;
  }
  let parameters: Record<string, unknown> = {};
  if (plan.needsRun && plan.parameters.length > 0) {
    const body = new DeployParametersBody({
      parameters: plan.parameters,
      target,
      notebookPath: path
    });
    const dialog = new SubmitDialog<Record<string, unknown>>({
      title: 'Run and deploy',
      body,
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: 'Run and deploy' })
      ],
      defaultButton: 1,
      focusNodeSelector: 'input, textarea'
    });
    dialog.addClass('jp-mlops-dialog');
    const result = await dialog.launch();
    if (!result.button.accept || result.value === null) {
      return;
    }
    parameters = result.value;
  }
  await showDeployDialog(
    { path, parameters, target },
    serverSettings,
    options.showDeployment,
    options.showDrift
  );
}

/**
 * Open the Drift tab on the monitor of `deploymentId` (the tab's list when
 * it has none, or the monitors cannot be listed).
 */
export async function showDeploymentDrift(
  deploymentId: string,
  serverSettings: ServerConnection.ISettings | undefined,
  openPanel: (args: { tab: string; id?: string }) => Promise<unknown>
): Promise<void> {
  let monitorId: string | undefined;
  try {
    const page = await listMonitors(
      { deployment_id: deploymentId, limit: 1 },
      serverSettings
    );
    monitorId = page.items[0]?.id;
  } catch {
    monitorId = undefined;
  }
  await openPanel(
    monitorId ? { tab: 'drift', id: monitorId } : { tab: 'drift' }
  );
}

/** Toolbar item name (`data-jp-item-name`) of the Deploy button. */
export const DEPLOY_BUTTON_NAME = 'mlops-deploy';

/** Opens the MLOps panel on a tab and item (`mlops:open-panel`, see index.ts). */
const OPEN_PANEL_COMMAND = 'mlops:open-panel';

/**
 * The Deploy button on every notebook's toolbar (right of "Run with
 * parameters") and the `mlops:deploy-notebook` command for the current
 * notebook. Called once from the main plugin's `activate`.
 *
 * @param model The panel's model: the `defaultDeployTarget` setting.
 */
export function addDeployButton(
  app: JupyterFrontEnd,
  model: PanelModel
): IDisposable {
  const options = {
    target: (): DeployTarget => model.settings.defaultDeployTarget,
    showDeployment: (id: string): void => {
      void app.commands.execute(OPEN_PANEL_COMMAND, { tab: 'deployments', id });
    },
    // The monitor every deployment gets, in the Drift tab (the tab alone if it has none).
    showDrift: (deploymentId: string): void => {
      void showDeploymentDrift(deploymentId, serverSettings, args =>
        app.commands.execute(OPEN_PANEL_COMMAND, args)
      );
    }
  };
  const serverSettings = app.serviceManager.serverSettings;
  const deploy = (panel: NotebookPanel): Promise<void> =>
    deployNotebookPanel(panel, options.target(), {
      serverSettings,
      showDeployment: options.showDeployment,
      showDrift: options.showDrift
    });
  const current = (): NotebookPanel | null => {
    const widget = app.shell.currentWidget;
    return widget instanceof NotebookPanel ? widget : null;
  };
  app.commands.addCommand(DeployCommandIDs.deployNotebook, {
    label: 'MLOps: Deploy notebook',
    caption:
      'Run (if needed), register and serve the current notebook’s model',
    isEnabled: () => current() !== null,
    execute: async () => {
      const panel = current();
      if (panel) {
        await deploy(panel);
      }
    }
  });
  return addNotebookToolbarButton(app, {
    name: DEPLOY_BUTTON_NAME,
    rank: 2,
    create: panel => {
      const button = new ToolbarButton({
        className: 'jp-mlops-deploy-button',
        icon: launchIcon,
        label: 'Deploy',
        tooltip:
          'Deploy this notebook’s model: run it if needed, register, serve, check health',
        onClick: () => {
          void deploy(panel).catch(err => showError(err, 'Deploy'));
        }
      });
      button.node.dataset.command = DeployCommandIDs.deployNotebook;
      return button;
    }
  });
}
