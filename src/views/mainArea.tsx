/**
 * The main-area views of jupyterlab-mlops (views that need room, opened from
 * the side panel, the notifications and the file browser, as jupyter-scheduler
 * opens its job list): a schedule's history (`mlops:open-schedule {id}`) and a
 * pipeline run's DAG (`mlops:open-pipeline-run {id}`), each a `MainAreaWidget`
 * restored with the layout; and `mlops:run-pipeline {path}`, in the file
 * browser's context menu of `*.pipeline.yaml` files.
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon, ReactWidget, runIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { isPipelinePath, PIPELINE_SUFFIX, showError, startPipelineRun } from '../api';
import { CommandIDs } from '../commandIds';
import { mlopsIcon } from '../icons';
import { PipelineRunView } from './PipelineRunView';
import { ICommands } from './runLinks';
import { ScheduleHistoryView } from './ScheduleHistory';

/** The file type of pipeline files (`data-file-type` in the file browser). */
export const PIPELINE_FILE_TYPE = 'mlops-pipeline';

/** What a main-area view shows and how it renders. */
export interface IViewOptions {
  /** `schedule` or `pipeline-run`: part of the widget's id and tracker. */
  kind: 'schedule' | 'pipeline-run';
  /** The schedule's or pipeline run's id. */
  resourceId: string;
  render: (props: { active: boolean; onTitle: (label: string) => void }) => JSX.Element;
}

/**
 * A React view that knows whether it is on screen (it polls only then):
 * re-rendered when its tab is shown or hidden.
 */
export class MLOpsView extends ReactWidget {
  constructor(options: IViewOptions) {
    super();
    this.kind = options.kind;
    this.resourceId = options.resourceId;
    this._render = options.render;
    this.addClass('jp-mlops-view-widget');
  }

  readonly kind: IViewOptions['kind'];
  readonly resourceId: string;

  protected render(): JSX.Element {
    return this._render({
      active: this.isVisible,
      onTitle: label => {
        if (this.parent instanceof MainAreaWidget) {
          this.parent.title.label = label;
        }
      }
    });
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.update();
  }

  private _render: IViewOptions['render'];
}

/** The DOM id of the main-area widget showing `resourceId`. */
export function viewId(kind: IViewOptions['kind'], resourceId: string): string {
  return `jp-mlops-${kind}-${resourceId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** A view in a `MainAreaWidget` with its tab's label, caption and icon. */
export function createView(
  options: IViewOptions & { label: string; caption: string; icon?: LabIcon }
): MainAreaWidget<MLOpsView> {
  const content = new MLOpsView(options);
  const widget = new MainAreaWidget({ content });
  widget.id = viewId(options.kind, options.resourceId);
  widget.addClass('jp-mlops-main-area');
  widget.title.label = options.label;
  widget.title.caption = options.caption;
  widget.title.icon = options.icon ?? mlopsIcon;
  widget.title.closable = true;
  return widget;
}

/** The schedule history view of `scheduleId`. */
export function scheduleHistoryWidget(
  scheduleId: string,
  serverSettings: ServerConnection.ISettings,
  commands: ICommands | null
): MainAreaWidget<MLOpsView> {
  return createView({
    kind: 'schedule',
    resourceId: scheduleId,
    label: `Schedule ${scheduleId}`,
    caption: `The fires and runs of schedule ${scheduleId}`,
    render: ({ active, onTitle }) => (
      <ScheduleHistoryView
        scheduleId={scheduleId}
        serverSettings={serverSettings}
        commands={commands}
        active={active}
        onTitle={name => onTitle(`Schedule: ${name}`)}
      />
    )
  });
}

/** The DAG view of pipeline run `runId`. */
export function pipelineRunWidget(
  runId: string,
  serverSettings: ServerConnection.ISettings,
  commands: ICommands | null
): MainAreaWidget<MLOpsView> {
  return createView({
    kind: 'pipeline-run',
    resourceId: runId,
    label: `Pipeline run ${runId}`,
    caption: `The steps of pipeline run ${runId}`,
    render: ({ active, onTitle }) => (
      <PipelineRunView
        runId={runId}
        serverSettings={serverSettings}
        commands={commands}
        active={active}
        onTitle={name => onTitle(`Pipeline: ${name}`)}
      />
    )
  });
}

/** The path of the file selected in the file browser, relative to the server root. */
function selectedPath(app: JupyterFrontEnd, browsers: IFileBrowserFactory | null): string | null {
  const item = browsers?.tracker.currentWidget?.selectedItems().next();
  if (!item || item.done || !item.value || item.value.type === 'directory') {
    return null;
  }
  return app.serviceManager.contents.localPath(item.value.path);
}

/**
 * Register the main-area views' commands, their restoration, the pipeline file
 * type and the file browser's "Run pipeline" item. Called once from `activate`.
 */
export function addMainAreaViews(
  app: JupyterFrontEnd,
  options: {
    restorer: ILayoutRestorer | null;
    fileBrowser: IFileBrowserFactory | null;
  }
): void {
  const { restorer, fileBrowser } = options;
  const serverSettings = app.serviceManager.serverSettings;
  const commands = app.commands;
  const trackers = {
    schedule: new WidgetTracker<MainAreaWidget<MLOpsView>>({ namespace: 'mlops-schedule' }),
    'pipeline-run': new WidgetTracker<MainAreaWidget<MLOpsView>>({
      namespace: 'mlops-pipeline-run'
    })
  };

  const open = (
    kind: IViewOptions['kind'],
    id: string,
    create: () => MainAreaWidget<MLOpsView>,
    activate = true
  ): MainAreaWidget<MLOpsView> => {
    const tracker = trackers[kind];
    let widget = tracker.find(w => w.content.resourceId === id) ?? null;
    if (!widget || widget.isDisposed) {
      widget = create();
      void tracker.add(widget);
      app.shell.add(widget, 'main');
    }
    if (activate) {
      app.shell.activateById(widget.id);
    }
    return widget;
  };

  commands.addCommand(CommandIDs.openSchedule, {
    label: 'MLOps: Open schedule history',
    caption: 'The fires and runs of one schedule, in a main-area tab; args: id',
    execute: args => {
      const id = String(args['id'] ?? '');
      if (!id) {
        return commands.execute(CommandIDs.openPanel, { tab: 'schedules' });
      }
      return open('schedule', id, () => scheduleHistoryWidget(id, serverSettings, commands));
    }
  });
  commands.addCommand(CommandIDs.openPipelineRun, {
    label: 'MLOps: Open pipeline run',
    caption: "A pipeline run's steps as a graph (Cancel, Repair), in a main-area tab; args: id",
    execute: args => {
      const id = String(args['id'] ?? '');
      if (!id) {
        return commands.execute(CommandIDs.openPanel, { tab: 'pipelines' });
      }
      return open('pipeline-run', id, () => pipelineRunWidget(id, serverSettings, commands));
    }
  });
  commands.addCommand(CommandIDs.runPipeline, {
    label: 'Run pipeline',
    caption: `Start a run of this ${PIPELINE_SUFFIX} (MLOps) and show its steps`,
    icon: args => (args['isPalette'] ? undefined : runIcon),
    // Hidden only when a file that is no pipeline is selected (the context menu item is
    // on pipeline files anyway).
    isVisible: args => {
      const path = typeof args['path'] === 'string' ? args['path'] : selectedPath(app, fileBrowser);
      return path === null || isPipelinePath(path);
    },
    execute: async args => {
      const path =
        typeof args['path'] === 'string' ? args['path'] : selectedPath(app, fileBrowser);
      if (!path || !isPipelinePath(path)) {
        return commands.execute(CommandIDs.openPanel, { tab: 'pipelines' });
      }
      try {
        const run = await startPipelineRun({ pipeline_path: path }, serverSettings);
        await commands.execute(CommandIDs.openPipelineRun, { id: run.id });
      } catch (err) {
        showError(err, `Running ${path}`);
      }
    }
  });

  app.docRegistry.addFileType({
    name: PIPELINE_FILE_TYPE,
    displayName: 'MLOps pipeline',
    extensions: [PIPELINE_SUFFIX],
    mimeTypes: ['text/x-yaml'],
    contentType: 'file',
    fileFormat: 'text',
    icon: mlopsIcon
  });
  app.contextMenu.addItem({
    command: CommandIDs.runPipeline,
    selector: `.jp-DirListing-item[data-file-type="${PIPELINE_FILE_TYPE}"]`,
    rank: 3
  });

  if (restorer) {
    void restorer.restore(trackers.schedule, {
      command: CommandIDs.openSchedule,
      args: widget => ({ id: widget.content.resourceId }),
      name: widget => widget.content.resourceId
    });
    void restorer.restore(trackers['pipeline-run'], {
      command: CommandIDs.openPipelineRun,
      args: widget => ({ id: widget.content.resourceId }),
      name: widget => widget.content.resourceId
    });
  }
}
