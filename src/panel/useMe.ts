import { ServerConnection } from '@jupyterlab/services';
import { useEffect, useState } from 'react';

import { getMe, IMe } from '../api';

/**
 * Who the panel's requests act as (`GET me`, asked once per server): the panel disables
 * what the role does not permit and says why on hover. Null until known (or when the
 * server does not answer): nothing is disabled then, and the server still refuses.
 */
export function useMe(serverSettings: ServerConnection.ISettings): IMe | null {
  const [me, setMe] = useState<IMe | null>(null);
  useEffect(() => {
    let live = true;
    getMe(serverSettings).then(
      value => live && setMe(value),
      () => undefined
    );
    return () => {
      live = false;
    };
  }, [serverSettings]);
  return me;
}
