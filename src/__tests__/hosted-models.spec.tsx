import * as React from 'react';

import { IHostedModel } from '../api';
import { DeploymentDetail } from '../panel/DeploymentDetail';
import { DeploymentsTab } from '../panel/DeploymentsTab';
import { HostedModelsTable, loadedLabel } from '../panel/HostedModels';
import {
  deployment,
  deploymentWithStats,
  modelVersionDetail,
  page,
  signatureColumn
} from './fixtures';
import { fakeServer, reactRoot, waitFor } from './harness';

function hosted(overrides: Partial<IHostedModel> & Pick<IHostedModel, 'name'>): IHostedModel {
  return {
    model_ref: `${overrides.name}@production`,
    follows_alias: 'production',
    version: 1,
    challenger_version: null,
    bundle_dir: `/tmp/bundles/${overrides.name}/v1`,
    challenger_bundle_dir: null,
    prediction_log: `/tmp/predictions-${overrides.name}.sqlite`,
    loaded: true,
    ...overrides
  };
}

const multi = deploymentWithStats({
  id: 'dep9',
  name: 'churn-fraud',
  model: 'churn',
  model_ref: 'churn@production',
  config: { models: [{ model: 'churn@production' }, { model: 'fraud/3' }], max_loaded_models: 1 },
  models: [
    hosted({ name: 'churn', version: 2 }),
    hosted({
      name: 'fraud',
      model_ref: 'fraud/3',
      follows_alias: null,
      version: 3,
      challenger_version: 4,
      loaded: false
    })
  ]
});

describe('hosted models of a multi-model deployment', () => {
  const root = reactRoot();
  const q = (selector: string) => root.container().querySelector(selector);

  it('lists each hosted model on the deployment row, with what is unloaded', async () => {
    const { serverSettings } = fakeServer({
      deployments: () => page([multi, deploymentWithStats({ id: 'dep1' })])
    });
    root.render(
      <DeploymentsTab
        serverSettings={serverSettings}
        active={true}
        refreshInterval={0}
        refreshToken={0}
      />
    );
    await waitFor(() => expect(q('[data-deployment-id="dep9"]')).not.toBeNull());
    const row = q('[data-deployment-id="dep9"]')!;
    expect(row.querySelector('.jp-mlops-hosted-count')!.textContent).toBe('2 models');
    expect(row.querySelector('.jp-mlops-version')).toBeNull();
    const shown = Array.from(row.querySelectorAll('.jp-mlops-hosted-model')).map(
      node => node.textContent
    );
    expect(shown).toEqual(['churn/2 @production', 'fraud/3 (unloaded)']);
    // a single-model deployment keeps its one model/version line
    const single = q('[data-deployment-id="dep1"]')!;
    expect(single.querySelector('.jp-mlops-version')!.textContent).toBe('churn/1');
    expect(single.querySelector('.jp-mlops-hosted-model')).toBeNull();
  });

  it('tabulates reference, version served and loaded state in the detail', () => {
    root.render(<HostedModelsTable deployment={multi} />);
    expect(q('.jp-mlops-section-title')!.textContent).toBe(
      '2 models in one process, at most 1 loaded'
    );
    const cells = (name: string) =>
      Array.from(q(`[data-hosted-model="${name}"]`)!.querySelectorAll('td')).map(
        td => td.textContent
      );
    expect(cells('churn')).toEqual(['/models/churn', 'churn@production', 'v2', 'loaded']);
    expect(cells('fraud')).toEqual([
      '/models/fraud',
      'fraud/3',
      'v3 (challenger v4)',
      'unloaded'
    ]);
  });

  it('shows the hosted models in the detail, its curl under /models/{name}, no canary form', async () => {
    const { serverSettings } = fakeServer({
      'deployments/dep9': () => multi,
      'models/churn/versions/1': () =>
        modelVersionDetail({
          signature: {
            input_type: 'dataframe',
            inputs: [signatureColumn({ name: 'age' })],
            output: null
          }
        })
    });
    root.render(
      <DeploymentDetail
        serverSettings={serverSettings}
        active={true}
        refreshInterval={0}
        refreshToken={0}
        deploymentId="dep9"
        onBack={() => undefined}
      />
    );
    await waitFor(() => expect(q('.jp-mlops-hosted-table')).not.toBeNull());
    expect(q('.jp-mlops-deployment-models')!.textContent).toBe('churn, fraud');
    expect(q('[data-hosted-model="fraud"] .jp-mlops-hosted-loaded')!.textContent).toBe(
      'unloaded'
    );
    expect(q('.jp-mlops-canary')).toBeNull();
    await waitFor(() => expect(q('.jp-mlops-deploy-curl')).not.toBeNull());
    expect(q('.jp-mlops-deploy-curl')!.textContent).toContain(
      'http://127.0.0.1:8123/models/churn/predict'
    );
  });

  it('shows nothing for a single-model deployment, and a dash when not asked', () => {
    root.render(<HostedModelsTable deployment={deployment()} />);
    expect(root.container().innerHTML).toBe('');
    expect(loadedLabel(hosted({ name: 'x', loaded: null }))).toBe('—');
  });
});
