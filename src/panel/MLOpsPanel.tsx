import { ReactWidget, refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { mlopsIcon } from '../icons';
import { DeploymentsTab } from './DeploymentsTab';
import { DriftTab } from './DriftTab';
import { PanelModel, TabId, TABS } from './model';
import { ModelsTab } from './ModelsTab';
import { PipelinesTab } from './PipelinesTab';
import { RunsTab } from './RunsTab';
import { SchedulesTab } from './SchedulesTab';
import { ITabProps } from './types';

/** Id of the side panel widget (also its tab's `data-id` in the side bar). */
export const PANEL_ID = 'jupyterlab-mlops-panel';

const TAB_COMPONENTS: Record<TabId, (props: ITabProps) => JSX.Element> = {
  runs: RunsTab,
  models: ModelsTab,
  deployments: DeploymentsTab,
  drift: DriftTab,
  schedules: SchedulesTab,
  pipelines: PipelinesTab
};

/**
 * Re-render whenever the model changes — also for a change made between the
 * first render and the subscription (React mounts asynchronously: the panel
 * shown in that gap, `visible` turning true, must not leave it inactive).
 */
function useModel(model: PanelModel): void {
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const onChange = (): void => setVersion(v => v + 1);
    model.changed.connect(onChange);
    onChange();
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
}

/**
 * The panel's React tree: header, tab bar, and the selected tab (only the
 * selected tab is mounted, so only it fetches and polls).
 */
export function MLOpsPanelView({ model }: { model: PanelModel }): JSX.Element {
  useModel(model);
  const tabRefs = React.useRef<Record<string, HTMLButtonElement | null>>({});
  const active = model.activeTab;

  const onKeyDown = (event: React.KeyboardEvent): void => {
    const index = TABS.findIndex(tab => tab.id === active);
    let next = -1;
    if (event.key === 'ArrowRight') {
      next = (index + 1) % TABS.length;
    } else if (event.key === 'ArrowLeft') {
      next = (index - 1 + TABS.length) % TABS.length;
    } else if (event.key === 'Home') {
      next = 0;
    } else if (event.key === 'End') {
      next = TABS.length - 1;
    }
    if (next >= 0) {
      event.preventDefault();
      model.activeTab = TABS[next].id;
      tabRefs.current[TABS[next].id]?.focus();
    }
  };

  const Tab = TAB_COMPONENTS[active];
  return (
    <div className="jp-mlops-panel-body">
      <header className="jp-mlops-header">
        <h2 className="jp-mlops-title">MLOps</h2>
        <ToolbarButtonComponent
          className="jp-mlops-refresh"
          icon={refreshIcon}
          tooltip="Refresh"
          onClick={() => model.refresh()}
        />
      </header>
      {model.server.status === 'missing' ||
      model.server.status === 'unreachable' ? (
        <div className="jp-mlops-banner" role="alert">
          {model.server.message}
        </div>
      ) : null}
      <div
        className="jp-mlops-tabbar"
        role="tablist"
        aria-label="MLOps"
        onKeyDown={onKeyDown}
      >
        {TABS.map(tab => {
          const selected = tab.id === active;
          return (
            <button
              key={tab.id}
              ref={el => {
                tabRefs.current[tab.id] = el;
              }}
              type="button"
              role="tab"
              id={`jp-mlops-tab-${tab.id}`}
              className={`jp-mlops-tab${selected ? ' jp-mod-selected' : ''}`}
              data-tab={tab.id}
              aria-selected={selected}
              aria-controls={`jp-mlops-tabpanel-${tab.id}`}
              tabIndex={selected ? 0 : -1}
              onClick={() => {
                model.activeTab = tab.id;
              }}
            >
              {tab.label}
            </button>
          );
        })}
      </div>
      <div
        className="jp-mlops-tabpanel"
        role="tabpanel"
        id={`jp-mlops-tabpanel-${active}`}
        aria-labelledby={`jp-mlops-tab-${active}`}
        data-tab={active}
      >
        <Tab
          key={active}
          serverSettings={model.serverSettings}
          active={model.visible}
          refreshInterval={model.settings.refreshInterval}
          refreshToken={model.refreshToken}
          model={model}
        />
      </div>
    </div>
  );
}

/**
 * The MLOps side panel widget.
 */
export class MLOpsPanel extends ReactWidget {
  constructor(model: PanelModel) {
    super();
    this.model = model;
    this.id = PANEL_ID;
    this.addClass('jp-mlops-panel');
    this.title.icon = mlopsIcon;
    this.title.caption = 'MLOps';
    this.node.dataset.mlopsServer = model.server.status;
    model.changed.connect(this._onModelChanged, this);
  }

  readonly model: PanelModel;

  protected render(): JSX.Element {
    return <MLOpsPanelView model={this.model} />;
  }

  /** Mirror the server check on the node (`data-mlops-server`) for tests and CSS. */
  private _onModelChanged(): void {
    this.node.dataset.mlopsServer = this.model.server.status;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.visible = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.visible = false;
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.visible = false;
    super.onBeforeDetach(msg);
  }
}
