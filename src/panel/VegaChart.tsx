import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import type { IChart } from '../api';

/** Whether the lab's theme is light (`<body data-jp-theme-light>`), followed as it changes. */
export function useLightTheme(): boolean {
  const read = (): boolean => document.body.dataset.jpThemeLight !== 'false';
  const [light, setLight] = React.useState(read);
  React.useEffect(() => {
    const observer = new MutationObserver(() => setLight(read()));
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-light']
    });
    return () => observer.disconnect();
  }, []);
  return light;
}

/**
 * A chart the server built (a mime bundle with a Vega-Lite spec, the one the
 * notebook's drift widget shows), drawn by JupyterLab's own renderer for it.
 * That renderer picks Vega's dark theme when the lab's is dark, so the chart
 * is drawn again when the theme changes.
 */
export function VegaChart(props: {
  chart: IChart;
  rendermime: IRenderMimeRegistry | null;
}): JSX.Element {
  const { chart, rendermime } = props;
  const host = React.useRef<HTMLDivElement>(null);
  const light = useLightTheme();
  const [failure, setFailure] = React.useState<string | null>(null);
  // Polling fetches an equal chart again and again: draw it only when it changes.
  const content = JSON.stringify([chart.data, chart.metadata]);
  // A layout effect: its cleanup runs before React removes the host, so the view detaches.
  React.useLayoutEffect(() => {
    const node = host.current;
    if (!rendermime || !node) {
      return;
    }
    // Parsed anew each time: the Vega renderer writes the theme into the embed options.
    const [data, metadata] = JSON.parse(content) as ReadonlyPartialJSONObject[];
    const mimeType = rendermime.preferredMimeType(data, 'any');
    if (!mimeType) {
      setFailure(`no renderer for ${Object.keys(data).join(', ')}`);
      return;
    }
    const renderer = rendermime.createRenderer(mimeType);
    renderer.addClass('jp-mlops-chart-view');
    Widget.attach(renderer, node);
    setFailure(null);
    renderer.renderModel(new MimeModel({ data, metadata })).catch(err => {
      setFailure(err instanceof Error ? err.message : String(err));
    });
    return () => renderer.dispose();
  }, [content, rendermime, light]);
  return (
    <figure
      className="jp-mlops-drift-chart"
      data-theme={light ? 'light' : 'dark'}
    >
      <div ref={host} className="jp-mlops-chart-host" />
      {failure ? (
        <div className="jp-mlops-error" role="alert">
          The chart could not be drawn: {failure}
        </div>
      ) : null}
      <figcaption className="jp-mlops-chart-caption">
        {chart.description}
      </figcaption>
    </figure>
  );
}
