import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { errorMessage, getHealth, isNotFound } from './api';
import { CommandIDs } from './commandIds';
import { addDeployButton } from './deploy';
import { NotificationPoller } from './notifications';
import {
  DEFAULT_SETTINGS,
  IMLOpsSettings,
  IServerState,
  PanelModel,
  TabId,
  TABS
} from './panel/model';
import { MLOpsPanel, PANEL_ID } from './panel/MLOpsPanel';
import { addRunWithParametersButton } from './toolbar';
import { addMainAreaViews } from './views/mainArea';

export * from './api';
export { CommandIDs } from './commandIds';
export { NotificationPoller } from './notifications';
export { PanelModel } from './panel/model';
export { MLOpsPanel, PANEL_ID } from './panel/MLOpsPanel';
export { addNotebookToolbarButton } from './toolbar';

// Resolved by webpack (and jest); typed here so the build needs no @types/node.
declare const require: (id: string) => { version: string };

/** Version of this frontend package (compared with the server's). */
export const FRONTEND_VERSION: string = require('../package.json').version;

export const PLUGIN_ID = 'jupyterlab-mlops:plugin';

const CATEGORY = 'MLOps';

/** The command that enables the server extension. */
export const ENABLE_SERVER_EXTENSION =
  'jupyter server extension enable jupyterlab_mlops';

/** Shown in the panel when `GET /mlops/api/health` answers 404. */
export const SERVER_EXTENSION_MISSING =
  'The jupyterlab-mlops server extension is not installed or not enabled ' +
  '(GET /mlops/api/health returned 404). Run ' +
  `\`${ENABLE_SERVER_EXTENSION}\` and restart.`;

/**
 * The same as a toast: JupyterLab cuts notification messages (toast and
 * notification centre) at 140 characters, which would cut the command off.
 */
export const SERVER_EXTENSION_MISSING_SHORT =
  'jupyterlab-mlops server extension missing (GET /mlops/api/health: 404). ' +
  `Run \`${ENABLE_SERVER_EXTENSION}\` and restart.`;

/**
 * Check that the server extension answers and matches this frontend.
 *
 * Never throws: problems are reported as notifications, and returned so the
 * panel can show them too.
 */
export async function checkServer(
  serverSettings?: ServerConnection.ISettings
): Promise<IServerState> {
  let version: string;
  try {
    version = (await getHealth(serverSettings)).version;
  } catch (err) {
    if (isNotFound(err)) {
      Notification.error(SERVER_EXTENSION_MISSING_SHORT, {
        autoClose: false,
        actions: [
          {
            label: 'Copy command',
            caption: ENABLE_SERVER_EXTENSION,
            callback: () => Clipboard.copyToSystem(ENABLE_SERVER_EXTENSION)
          }
        ]
      });
      return { status: 'missing', message: SERVER_EXTENSION_MISSING };
    }
    const message =
      'The jupyterlab-mlops server extension did not answer ' +
      `(GET /mlops/api/health failed: ${errorMessage(err)}). ` +
      'Check the Jupyter server log.';
    Notification.error(message, { autoClose: false });
    return { status: 'unreachable', message };
  }
  if (version !== FRONTEND_VERSION) {
    const message =
      `jupyterlab-mlops server extension ${version} ≠ JupyterLab extension ` +
      `${FRONTEND_VERSION}. Reinstall jupyterlab_mlops and restart JupyterLab.`;
    Notification.warning(message, { autoClose: false });
    return { status: 'version-mismatch', message, version };
  }
  return { status: 'ok', message: '', version };
}

function readSettings(settings: ISettingRegistry.ISettings): IMLOpsSettings {
  const composite = settings.composite as Partial<IMLOpsSettings>;
  const refresh = Number(composite.refreshInterval);
  return {
    refreshInterval:
      Number.isFinite(refresh) && refresh >= 0
        ? refresh
        : DEFAULT_SETTINGS.refreshInterval,
    defaultDeployTarget:
      composite.defaultDeployTarget ?? DEFAULT_SETTINGS.defaultDeployTarget,
    defaultTimezone:
      typeof composite.defaultTimezone === 'string'
        ? composite.defaultTimezone.trim()
        : DEFAULT_SETTINGS.defaultTimezone
  };
}

/**
 * The MLOps side panel, its commands and the server check.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'MLOps side panel (runs, models, deployments, drift, schedules, pipelines), ' +
    'its main-area views and lab notifications for jupyterlab-mlops.',
  autoStart: true,
  // The lab's renderers draw the drift charts (its Vega-Lite one), as in notebooks.
  requires: [IRenderMimeRegistry],
  optional: [ISettingRegistry, ICommandPalette, ILayoutRestorer, IFileBrowserFactory],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    fileBrowser: IFileBrowserFactory | null
  ): void => {
    const serverSettings = app.serviceManager.serverSettings;
    const model = new PanelModel({
      serverSettings,
      commands: app.commands,
      rendermime
    });
    const panel = new MLOpsPanel(model);
    app.shell.add(panel, 'left', { rank: 900 });
    if (restorer) {
      restorer.add(panel, PANEL_ID);
    }

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'MLOps: Open panel',
      caption:
        'Show the MLOps side panel; args: tab (runs|models|deployments|drift|schedules|pipelines), ' +
        'id (the item to show in detail on that tab)',
      icon: args => (args['isPalette'] ? undefined : panel.title.icon),
      execute: args => {
        const tab = args['tab'] as TabId | undefined;
        if (tab && TABS.some(t => t.id === tab)) {
          model.activeTab = tab;
          if (typeof args['id'] === 'string') {
            model.select(tab, args['id']);
          }
        }
        app.shell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'MLOps: Refresh',
      caption: 'Re-fetch the lists of the MLOps panel now',
      execute: () => {
        model.refresh();
      }
    });
    // Notebook toolbar buttons (see src/toolbar.ts for how to add one).
    addRunWithParametersButton(
      app,
      run => {
        void app.commands.execute(CommandIDs.openPanel, { tab: 'runs', id: run.id });
      },
      {
        defaultTimezone: () => model.settings.defaultTimezone,
        onScheduled: schedule => {
          void app.commands.execute(CommandIDs.openPanel, {
            tab: 'schedules',
            id: schedule.id
          });
        }
      }
    );
    // Deploy button (src/deploy.ts, deployments engineer): add its one line here.
    addDeployButton(app, model);
    // Schedule histories and pipeline runs in the main area; "Run pipeline" on *.pipeline.yaml.
    addMainAreaViews(app, { restorer, fileBrowser });

    if (palette) {
      palette.addItem({ command: CommandIDs.openPanel, category: CATEGORY });
      palette.addItem({ command: CommandIDs.refresh, category: CATEGORY });
      palette.addItem({ command: CommandIDs.openPipelineRun, category: CATEGORY });
      palette.addItem({ command: CommandIDs.openSchedule, category: CATEGORY });
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          model.settings = readSettings(settings);
          settings.changed.connect(() => {
            model.settings = readSettings(settings);
          });
        })
        .catch(reason => {
          console.error(`Failed to load settings for ${PLUGIN_ID}.`, reason);
        });
    }

    void app.restored
      .then(() => checkServer(serverSettings))
      .then(state => {
        model.server = state;
        // Lab notifications of runs, pipeline runs and scheduled runs, from now on.
        if (state.status === 'ok' || state.status === 'version-mismatch') {
          const poller = new NotificationPoller({
            serverSettings,
            commands: app.commands
          });
          void poller.start();
        }
      });
  }
};

export default plugin;
