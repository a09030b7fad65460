import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ServerConnection } from '@jupyterlab/services';
import { CommandRegistry } from '@lumino/commands';
import { ISignal, Signal } from '@lumino/signaling';

/** The panel's tabs, in display order. */
export const TABS = [
  { id: 'runs', label: 'Runs' },
  { id: 'models', label: 'Models' },
  { id: 'deployments', label: 'Deployments' },
  { id: 'drift', label: 'Drift' },
  { id: 'schedules', label: 'Schedules' },
  { id: 'pipelines', label: 'Pipelines' }
] as const;

export type TabId = (typeof TABS)[number]['id'];

/** User settings of `jupyterlab-mlops:plugin` (see schema/plugin.json). */
export interface IMLOpsSettings {
  /** Seconds between re-fetches of the visible list; 0 = never. */
  refreshInterval: number;
  /** Where the Deploy button deploys (`target` of `POST deploy/notebook`). */
  defaultDeployTarget: 'local' | 'docker' | 'kubernetes';
  /** IANA time zone new schedules start with; '' = the browser's zone. */
  defaultTimezone: string;
}

export const DEFAULT_SETTINGS: IMLOpsSettings = {
  refreshInterval: 5,
  defaultDeployTarget: 'local',
  defaultTimezone: ''
};

/** What the plugin's health check found (see `checkServer`). */
export interface IServerState {
  status: 'unknown' | 'ok' | 'missing' | 'unreachable' | 'version-mismatch';
  /** What to tell the user; empty when all is well. */
  message: string;
  /** The server extension's version, when it answered. */
  version?: string;
}

/**
 * State shared by the panel widget, its React tree and the plugin's commands.
 */
export class PanelModel {
  constructor(options: PanelModel.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this.commands = options.commands ?? null;
    this.rendermime = options.rendermime ?? null;
  }

  /** The app's commands (e.g. `docmanager:open` for a run's output); null in tests. */
  readonly commands: CommandRegistry | null;

  /** The lab's renderers: the panel's charts are drawn by its Vega-Lite renderer; null in tests. */
  readonly rendermime: IRenderMimeRegistry | null;

  /**
   * The item each tab shows in detail (a run id, a model name, …), or null for
   * the tab's list. Survives switching tabs; set with {@link select}.
   */
  get selection(): Readonly<Partial<Record<TabId, string | null>>> {
    return this._selection;
  }

  /** Show `id` in `tab`'s detail view (null: back to the list). */
  select(tab: TabId, id: string | null): void {
    if (this._selection[tab] !== id) {
      this._selection = { ...this._selection, [tab]: id };
      this._changed.emit();
    }
  }

  /** Connection settings every request of the panel uses. */
  readonly serverSettings: ServerConnection.ISettings;

  /** Emitted whenever any property below changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get settings(): Readonly<IMLOpsSettings> {
    return this._settings;
  }
  set settings(value: Readonly<IMLOpsSettings>) {
    this._settings = { ...value };
    this._changed.emit();
  }

  /** Result of the server check, `unknown` until it finished. */
  get server(): Readonly<IServerState> {
    return this._server;
  }
  set server(value: Readonly<IServerState>) {
    this._server = { ...value };
    this._changed.emit();
  }

  /** Whether the panel is shown; lists only poll while it is. */
  get visible(): boolean {
    return this._visible;
  }
  set visible(value: boolean) {
    if (value !== this._visible) {
      this._visible = value;
      this._changed.emit();
    }
  }

  get activeTab(): TabId {
    return this._activeTab;
  }
  set activeTab(value: TabId) {
    if (value !== this._activeTab) {
      this._activeTab = value;
      this._changed.emit();
    }
  }

  /** Increases on every {@link refresh}; lists re-fetch when it changes. */
  get refreshToken(): number {
    return this._refreshToken;
  }

  /** Ask the visible list to re-fetch now. */
  refresh(): void {
    this._refreshToken += 1;
    this._changed.emit();
  }

  private _settings: IMLOpsSettings;
  private _server: IServerState = { status: 'unknown', message: '' };
  private _visible = false;
  private _activeTab: TabId = 'runs';
  private _refreshToken = 0;
  private _selection: Partial<Record<TabId, string | null>> = {};
  private _changed = new Signal<this, void>(this);
}

export namespace PanelModel {
  export interface IOptions {
    serverSettings?: ServerConnection.ISettings;
    settings?: Partial<IMLOpsSettings>;
    commands?: CommandRegistry;
    rendermime?: IRenderMimeRegistry;
  }
}
