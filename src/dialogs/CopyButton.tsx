import { Clipboard } from '@jupyterlab/apputils';
import { copyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

/** How long the button says "Copied" after a click (ms). */
const COPIED_FOR_MS = 2000;

/** A small button copying `text` to the system clipboard. */
export function CopyButton(props: {
  text: string;
  label: string;
  className?: string;
}): JSX.Element {
  const [copied, setCopied] = React.useState(false);
  React.useEffect(() => {
    if (!copied) {
      return;
    }
    const timer = setTimeout(() => setCopied(false), COPIED_FOR_MS);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className={`jp-mlops-copy jp-mod-styled${props.className ? ` ${props.className}` : ''}`}
      aria-label={props.label}
      title={props.label}
      onClick={() => {
        Clipboard.copyToSystem(props.text);
        setCopied(true);
      }}
    >
      <copyIcon.react tag="span" className="jp-mlops-copy-icon" />
      <span aria-live="polite">{copied ? 'Copied' : 'Copy'}</span>
    </button>
  );
}
