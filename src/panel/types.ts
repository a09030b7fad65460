import { ServerConnection } from '@jupyterlab/services';

import type { PanelModel } from './model';

/** Props every tab of the panel receives from {@link MLOpsPanelView}. */
export interface ITabProps {
  serverSettings: ServerConnection.ISettings;
  /** The tab is selected and the panel is on screen. */
  active: boolean;
  /** Seconds between re-fetches; 0 = never. */
  refreshInterval: number;
  /** Changes when the user asks for a refresh. */
  refreshToken: number;
  /** The panel's model: detail selection (`model.select`), app commands. */
  model?: PanelModel;
}
