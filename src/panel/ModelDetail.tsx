import { Notification } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  downloadMlflowModel,
  errorMessage,
  getLineage,
  getModel,
  IAliasChange,
  ILineage,
  IModel,
  IModelVersion,
  isForced,
  listVersions
} from '../api';
import { promoteVersion, rollbackAliasDialog } from '../dialogs/PromoteDialog';
import { AliasBadge } from './AliasBadge';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { shortClass } from './LineageView';
import { AuditLog } from './AuditLog';
import { LineageView } from './LineageView';
import { Pager } from './Pager';
import { ITabProps } from './types';
import { usePaged } from './usePaged';
import { useResource } from './useResource';
import { VersionsTable } from './VersionsTable';

/** Versions per page in the metrics table. */
const VERSIONS_PAGE = 20;

export interface IModelDetailProps extends ITabProps {
  name: string;
  onBack: () => void;
}

/**
 * A registered model: aliases (with Rollback), versions with metrics side by side
 * (with Promote and Lineage), the selected version's lineage, and the audit log.
 */
export function ModelDetail(props: IModelDetailProps): JSX.Element {
  const { name, serverSettings, onBack } = props;
  // Bumped after a promotion/rollback so every section re-fetches at once.
  const [changes, setChanges] = React.useState(0);
  // The version whose actions and lineage show under the table (default: the newest).
  const [chosen, setChosen] = React.useState<number | null>(null);
  const refreshToken = props.refreshToken * 1000 + changes;
  const sectionProps = { ...props, refreshToken };

  const model = useResource<IModel>(
    () => getModel(name, serverSettings),
    [name, serverSettings],
    { active: props.active, refreshToken, interval: () => props.refreshInterval }
  );
  const versions = usePaged<IModelVersion>(
    query => listVersions(name, query, serverSettings),
    { ...sectionProps, limit: VERSIONS_PAGE }
  );
  const items = versions.page?.items ?? [];
  const current =
    items.find(v => v.version === chosen) ?? (chosen === null ? items[0] : undefined);
  const lineageVersion = current ? current.version : null;
  const lineage = useResource<ILineage | null>(
    () =>
      lineageVersion === null
        ? Promise.resolve(null)
        : getLineage(name, lineageVersion, serverSettings),
    [name, lineageVersion, serverSettings],
    { active: props.active, refreshToken, interval: () => 0 }
  );

  const aliases = model.value?.aliases ?? {};
  const changed = (result: IAliasChange | null, verb: string): void => {
    if (result) {
      Notification.success(
        `${name}@${result.alias} ${verb} v${result.version}` +
          (isForced(result) ? ' (forced past the quality gate)' : '') +
          '.',
        { autoClose: 5000 }
      );
      setChanges(c => c + 1);
    }
  };

  return (
    <div className="jp-mlops-detail jp-mlops-model-detail" data-model-name={name}>
      <button type="button" className="jp-mlops-back jp-mlops-linkbutton" onClick={onBack}>
        ← All models
      </button>
      <div className="jp-mlops-detail-header">
        <h3 className="jp-mlops-detail-title">{name}</h3>
        {model.value?.latest_version ? (
          <span className="jp-mlops-version" title="latest version">
            latest v{model.value.latest_version}
          </span>
        ) : null}
      </div>
      {model.value?.description ? (
        <div className="jp-mlops-row-description">{model.value.description}</div>
      ) : null}
      {model.error ? (
        <div className="jp-mlops-error" role="alert">
          {errorMessage(model.error)}
        </div>
      ) : null}

      <section className="jp-mlops-section" aria-label="Aliases">
        <h4 className="jp-mlops-subheading">Aliases</h4>
        {Object.keys(aliases).length ? (
          <ul className="jp-mlops-aliases">
            {Object.entries(aliases).map(([alias, version]) => (
              <li key={alias} data-alias={alias}>
                <AliasBadge alias={alias} version={version} />
                <Button
                  small
                  minimal
                  className="jp-mlops-rollback"
                  title={`Move ${alias} back to its previous version`}
                  onClick={() =>
                    void rollbackAliasDialog({
                      name,
                      alias,
                      aliases,
                      serverSettings
                    }).then(result => changed(result, 'rolled back to'))
                  }
                >
                  Rollback
                </Button>
              </li>
            ))}
          </ul>
        ) : (
          <div className="jp-mlops-muted">
            No aliases yet: promote a version (e.g. to production).
          </div>
        )}
      </section>

      <section className="jp-mlops-section" aria-label="Versions">
        <h4 className="jp-mlops-subheading">Versions</h4>
        {versions.error ? (
          <div className="jp-mlops-error" role="alert">
            {errorMessage(versions.error)}
          </div>
        ) : null}
        {versions.page && versions.page.total === 0 ? (
          <div className="jp-mlops-muted">No versions.</div>
        ) : null}
        {items.length ? (
          <VersionsTable versions={items} selected={lineageVersion} onSelect={setChosen} />
        ) : null}
        <Pager paged={versions} label="Versions" />
      </section>

      {current ? (
        <section
          className="jp-mlops-section jp-mlops-selected-version"
          aria-label={`Version ${current.version}`}
          data-version={current.version}
        >
          <div className="jp-mlops-detail-header">
            <h4 className="jp-mlops-subheading">
              v{current.version}
              {current.model_class ? (
                <span className="jp-mlops-muted" title={current.model_class}>
                  {' '}
                  · {shortClass(current.model_class)}
                </span>
              ) : null}
            </h4>
            <Button
              small
              className="jp-mlops-promote"
              disabled={current.archived}
              title={`Point an alias (e.g. production) at v${current.version}`}
              onClick={() =>
                void promoteVersion({
                  name,
                  version: current.version,
                  aliases,
                  alias: 'production',
                  serverSettings
                }).then(result => changed(result, '→'))
              }
            >
              Promote…
            </Button>
            <Button
              small
              minimal
              className="jp-mlops-export-mlflow"
              title={`Download v${current.version} as an MLflow model (zip): mlflow.pyfunc.load_model loads it`}
              onClick={() =>
                void downloadMlflowModel(
                  name,
                  current.version,
                  serverSettings
                ).catch(err =>
                  Notification.error(
                    `Export of v${current.version} failed: ${errorMessage(err)}`
                  )
                )
              }
            >
              Export as MLflow model
            </Button>
          </div>
          <div className="jp-mlops-row-meta">
            <span title={formatAbsoluteTime(current.created_at)}>
              created {formatRelativeTime(current.created_at)}
            </span>
            {current.created_by ? <span>by {current.created_by}</span> : null}
            {current.description ? <span>{current.description}</span> : null}
          </div>
          <h4 className="jp-mlops-subheading">Lineage</h4>
          {lineage.value ? (
            <LineageView
              lineage={lineage.value}
              onOpenRun={
                props.model
                  ? id => {
                      props.model!.activeTab = 'runs';
                      props.model!.select('runs', id);
                    }
                  : undefined
              }
            />
          ) : lineage.error ? (
            <div className="jp-mlops-error" role="alert">
              {errorMessage(lineage.error)}
            </div>
          ) : (
            <div className="jp-mlops-loading">Loading lineage…</div>
          )}
        </section>
      ) : null}

      <section className="jp-mlops-section" aria-label="Audit log">
        <h4 className="jp-mlops-subheading">Audit log</h4>
        <AuditLog {...sectionProps} name={name} />
      </section>
    </div>
  );
}
