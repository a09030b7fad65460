import * as React from 'react';

/** An alias pointing at a version: `production → v3`, or just `production` in a version row. */
export function AliasBadge(props: {
  alias: string;
  version: number;
  /** Show the version in the badge (model rows) or not (inside a version's row). */
  showVersion?: boolean;
}): JSX.Element {
  const { alias, version, showVersion = true } = props;
  return (
    <span
      className={`jp-mlops-alias-badge jp-mlops-alias-${alias.replace(/[^a-z0-9_-]/gi, '')}`}
      data-alias={alias}
      data-version={version}
      title={`${alias} → version ${version}`}
    >
      {showVersion ? `${alias} → v${version}` : alias}
    </span>
  );
}
