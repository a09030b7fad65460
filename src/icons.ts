import { LabIcon } from '@jupyterlab/ui-components';

/**
 * Side panel icon: a notebook page feeding a cycle (run → register → deploy →
 * monitor). `jp-icon3` lets the active theme recolour it.
 */
const mlopsSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 3h9l3 3v4h-2V7h-3V5H6v14h5v2H4z"/>
    <path d="M8 9h6v1.6H8zm0 3h4v1.6H8z"/>
    <path d="M18 11.5a5.5 5.5 0 1 0 5.5 5.5h-1.8A3.7 3.7 0 1 1 18 13.3c1 0 1.9.4 2.6 1.1L18.9 16H23v-4.1l-1.2 1.2A5.48 5.48 0 0 0 18 11.5z"/>
  </g>
</svg>`;

export const mlopsIcon = new LabIcon({
  name: 'jupyterlab-mlops:panel',
  svgstr: mlopsSvg
});
