/**
 * The fake server and React helpers of the continuous-training specs (schedules,
 * pipelines, notifications), in the style of the other suites: a `fetch` that
 * answers `/mlops/api/<endpoint>` from routes, recording every request.
 */
import { ServerConnection } from '@jupyterlab/services';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { errorBody } from './fixtures';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface IRecorded {
  method: string;
  url: URL;
  /** The JSON body sent, null without one. */
  body: unknown;
}

/** Answers a request: a Response, or a value sent as a 200 JSON body. */
export type Handler = (url: URL, body: unknown) => Response | unknown;

/**
 * A fake Jupyter server answering `METHOD endpoint` (or `endpoint` for GET) from
 * `routes`; anything else gets the API's JSON 404, like the server's catch-all.
 */
export function fakeServer(routes: Record<string, Handler>): {
  serverSettings: ServerConnection.ISettings;
  requests: IRecorded[];
} {
  const requests: IRecorded[] = [];
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/',
    fetch: async (input: RequestInfo | URL) => {
      const request = input as Request;
      const url = new URL(request.url);
      const text = await request.text();
      const body = text ? JSON.parse(text) : null;
      requests.push({ method: request.method, url, body });
      const endpoint = url.pathname.replace(/^\/mlops\/api\//, '');
      const handler =
        routes[`${request.method} ${endpoint}`] ??
        (request.method === 'GET' ? routes[endpoint] : undefined);
      if (!handler) {
        return json(errorBody('not_found', `No route ${request.method} ${url.pathname}`), 404);
      }
      const answer = handler(url, body);
      return answer instanceof Response ? answer : json(answer);
    }
  });
  return { serverSettings, requests };
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status });
}

/** The requests other than GETs, as `METHOD path`. */
export function writes(requests: IRecorded[]): string[] {
  return requests
    .filter(r => r.method !== 'GET')
    .map(r => `${r.method} ${r.url.pathname.replace(/^\/mlops\/api\//, '')}`);
}

/** A React root in a fresh container, unmounted after each test of the suite. */
export function reactRoot(): {
  container: () => HTMLDivElement;
  render: (element: JSX.Element) => void;
} {
  let container: HTMLDivElement;
  let root: Root;
  beforeEach(() => {
    container = document.createElement('div');
    document.body.appendChild(container);
    root = createRoot(container);
  });
  afterEach(() => {
    act(() => root.unmount());
    container.remove();
  });
  return {
    container: () => container,
    render: element => act(() => root.render(element))
  };
}

/** Let pending fetches and re-renders run inside act(). */
export function settle(): Promise<void> {
  return act(() => new Promise<void>(resolve => setTimeout(resolve, 0)));
}

/** Settle until `check` passes, then once more for trailing updates. */
export async function waitFor(check: () => void, attempts = 50): Promise<void> {
  for (let i = 0; ; i++) {
    await settle();
    try {
      check();
      break;
    } catch (err) {
      if (i >= attempts) {
        throw err;
      }
    }
  }
  await settle();
}

/** Click an element inside act(). */
export function click(element: Element | null): void {
  if (!element) {
    throw new Error('Nothing to click.');
  }
  act(() => (element as HTMLElement).click());
}
