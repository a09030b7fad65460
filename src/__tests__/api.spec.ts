import { Notification } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';

import {
  apiUrl,
  errorMessage,
  getHealth,
  IPage,
  IRun,
  isNotFound,
  listRuns,
  MLOpsAPIError,
  parseErrorBody,
  requestAPI,
  showError,
  withQuery
} from '../api';
import { errorBody, health, page as pageOf, run } from './fixtures';

/** A fake server: records requests and answers with the given responses. */
function fakeServer(
  answer: (request: Request) => Response | Promise<Response>
): { settings: ServerConnection.ISettings; requests: Request[] } {
  const requests: Request[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/base/',
    token: 'secret-token',
    fetch: async (input: RequestInfo | URL) => {
      const request = input as Request;
      requests.push(request);
      return answer(request);
    }
  });
  return { settings, requests };
}

/**
 * The error a promise rejects with (fails the test if it resolves), typed as
 * the error the test expects; the test checks that type with `toBeInstanceOf`.
 */
async function rejection<E extends Error = MLOpsAPIError>(
  promise: Promise<unknown>
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    return err as E;
  }
  throw new Error('Expected the request to fail, but it succeeded.');
}

function json(body: unknown, status = 200, statusText = ''): Response {
  return new Response(JSON.stringify(body), {
    status,
    statusText,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('apiUrl', () => {
  it('joins the base URL, the API namespace and the endpoint', () => {
    expect(apiUrl('runs', 'http://localhost:8888/')).toBe(
      'http://localhost:8888/mlops/api/runs'
    );
    expect(apiUrl('drift/monitors', 'http://host:1/user/alice/')).toBe(
      'http://host:1/user/alice/mlops/api/drift/monitors'
    );
  });

  it('handles a base URL without trailing slash', () => {
    expect(apiUrl('health', 'http://localhost:8888/base')).toBe(
      'http://localhost:8888/base/mlops/api/health'
    );
  });

  it('keeps the query string untouched', () => {
    expect(
      apiUrl('runs?offset=50&limit=50&notebook=a%2Fb.ipynb', 'http://h/')
    ).toBe('http://h/mlops/api/runs?offset=50&limit=50&notebook=a%2Fb.ipynb');
  });
});

describe('withQuery', () => {
  it('encodes values and drops empty ones', () => {
    expect(
      withQuery('runs', {
        offset: 0,
        limit: 50,
        status: undefined,
        notebook: 'dir/my nb.ipynb',
        q: ''
      })
    ).toBe('runs?offset=0&limit=50&notebook=dir%2Fmy+nb.ipynb');
  });

  it('returns the bare path without parameters', () => {
    expect(withQuery('models', { q: null })).toBe('models');
  });
});

describe('parseErrorBody', () => {
  it('reads the API error shape', () => {
    expect(
      parseErrorBody(
        { error: { code: 'not_found', message: "Run 'r1' not found." } },
        404
      )
    ).toEqual({ message: "Run 'r1' not found.", code: 'not_found' });
  });

  it("reads Jupyter server's default error shape", () => {
    expect(
      parseErrorBody({ message: 'Forbidden', reason: null }, 403)
    ).toEqual({ message: 'Forbidden', code: 'http_403' });
  });

  it('falls back to the status for HTML pages and unknown shapes', () => {
    expect(
      parseErrorBody('<html><body>404 Not Found</body></html>', 404, 'Not Found')
    ).toEqual({
      message: 'Request failed with status 404 Not Found.',
      code: 'http_404'
    });
    expect(parseErrorBody({ error: {} }, 500)).toEqual({
      message: 'Request failed with status 500.',
      code: 'http_500'
    });
    expect(parseErrorBody([1, 2], 502)).toEqual({
      message: 'Request failed with status 502.',
      code: 'http_502'
    });
  });

  it('uses a short plain-text body as the message', () => {
    expect(parseErrorBody('database is locked', 503)).toEqual({
      message: 'database is locked',
      code: 'http_503'
    });
  });
});

describe('requestAPI', () => {
  it('sends an authenticated request to the endpoint and returns its JSON', async () => {
    const page = pageOf([run({ id: 'r1' })]);
    const { settings, requests } = fakeServer(() => json(page));

    const result = await requestAPI<IPage<IRun>>(
      'runs?offset=0&limit=50',
      {},
      settings
    );

    expect(result).toEqual(page);
    expect(requests).toHaveLength(1);
    // JupyterLab's default `cache: 'no-store'` appends a numeric cache buster.
    expect(requests[0].url).toMatch(
      /^http:\/\/localhost:8888\/base\/mlops\/api\/runs\?offset=0&limit=50&\d+$/
    );
    expect(requests[0].method).toBe('GET');
    expect(requests[0].headers.get('Authorization')).toBe('token secret-token');
  });

  it("throws MLOpsAPIError carrying the server's message on 4xx", async () => {
    const { settings } = fakeServer(() =>
      json(errorBody('not_found', "Model 'iris' not found."), 404, 'Not Found')
    );

    const err = await rejection(requestAPI('models/iris', {}, settings));

    expect(err).toBeInstanceOf(MLOpsAPIError);
    expect(err).toBeInstanceOf(ServerConnection.ResponseError);
    expect(err.message).toBe("Model 'iris' not found.");
    expect(err.code).toBe('not_found');
    expect(err.status).toBe(404);
    expect(isNotFound(err)).toBe(true);
  });

  it('does not surface an HTML error page as the message', async () => {
    const { settings } = fakeServer(
      () =>
        new Response('<!DOCTYPE html><html>Traceback…</html>', {
          status: 500,
          statusText: 'Internal Server Error'
        })
    );

    const err = await rejection(requestAPI('health', {}, settings));

    expect(err).toBeInstanceOf(MLOpsAPIError);
    expect(err.message).toBe(
      'Request failed with status 500 Internal Server Error.'
    );
    expect(isNotFound(err)).toBe(false);
  });

  it('raises NetworkError when the server cannot be reached', async () => {
    const { settings } = fakeServer(() => {
      throw new TypeError('Failed to fetch');
    });

    const err = await rejection<ServerConnection.NetworkError>(
      requestAPI('health', {}, settings)
    );

    expect(err).toBeInstanceOf(ServerConnection.NetworkError);
    expect(errorMessage(err)).toBe(
      'Could not reach the Jupyter server: Failed to fetch'
    );
  });

  it('returns undefined for an empty body', async () => {
    const { settings, requests } = fakeServer(
      () => new Response(null, { status: 204 })
    );

    const result = await requestAPI(
      'runs/r1',
      { method: 'DELETE' },
      settings
    );

    expect(result).toBeUndefined();
    expect(requests[0].method).toBe('DELETE');
  });

  it('rejects a 2xx answer that is not JSON', async () => {
    const { settings } = fakeServer(
      () => new Response('<html></html>', { status: 200 })
    );

    const err = await rejection<ServerConnection.ResponseError>(
      requestAPI('health', {}, settings)
    );

    expect(err).toBeInstanceOf(ServerConnection.ResponseError);
    expect(err).not.toBeInstanceOf(MLOpsAPIError);
    expect(err.message).toBe("The server's answer to health is not JSON.");
  });
});

describe('listRuns', () => {
  it('passes pagination and filters as query parameters', async () => {
    const { settings, requests } = fakeServer(() =>
      json(pageOf<IRun>([], { offset: 50, limit: 25 }))
    );

    const page = await listRuns(
      { offset: 50, limit: 25, status: 'failed' },
      settings
    );

    expect(page.total).toBe(0);
    const url = new URL(requests[0].url);
    expect(url.pathname).toBe('/base/mlops/api/runs');
    expect(url.searchParams.get('offset')).toBe('50');
    expect(url.searchParams.get('limit')).toBe('25');
    expect(url.searchParams.get('status')).toBe('failed');
    expect(url.searchParams.has('notebook')).toBe(false);
  });
});

describe('getHealth', () => {
  it("returns the server's health (typed from the OpenAPI document)", async () => {
    const answer = health({ version: '9.9.9' });
    const { settings, requests } = fakeServer(() => json(answer));

    const result = await getHealth(settings);

    expect(result).toEqual(answer);
    expect(result.store.revision).toBe('0002');
    expect(new URL(requests[0].url).pathname).toBe('/base/mlops/api/health');
  });
});

describe('showError', () => {
  afterEach(() => Notification.dismiss());

  it("shows the server's message as an error notification", async () => {
    const { settings } = fakeServer(() =>
      json(errorBody('invalid', 'limit must be ≤ 500'), 400)
    );
    const err = await rejection(requestAPI('runs?limit=9999', {}, settings));

    const id = showError(err, 'Loading runs');

    const shown = Notification.manager.notifications.find(n => n.id === id);
    expect(shown?.type).toBe('error');
    expect(shown?.message).toBe('Loading runs: limit must be ≤ 500');
  });
});
