import * as React from 'react';
import { act } from 'react';
import { createRoot } from 'react-dom/client';

import type { ILiveCell } from '../api';
import { buildFields, formStateOf } from '../dialogs/parameterForm';
import { formatBytes } from '../panel/format';
import { mergeCells, OutputView } from '../panel/LiveOutput';
import { parameterSpec } from './fixtures';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function cell(index: number, text: string, status: ILiveCell['status'] = 'completed'): ILiveCell {
  return {
    index,
    cell_type: 'code',
    source: `print(${index})`,
    execution_count: index,
    status,
    injected: false,
    outputs: [{ output_type: 'stream', name: 'stdout', text }],
    seq: 1
  };
}

function render(element: JSX.Element): HTMLElement {
  const host = document.createElement('div');
  act(() => createRoot(host).render(element));
  return host;
}

describe('live output', () => {
  it('merges newer versions of cells in notebook order', () => {
    const shown = [cell(1, 'a'), cell(3, 'b', 'running')];
    const merged = mergeCells(shown, [cell(3, 'b\nc'), cell(2, 'x')]);
    expect(merged.map(c => [c.index, c.status])).toEqual([
      [1, 'completed'],
      [2, 'completed'],
      [3, 'completed']
    ]);
    expect(merged[2].outputs[0].text).toBe('b\nc');
  });

  it('renders streams, errors without ANSI codes, and images', () => {
    expect(render(<OutputView output={{ output_type: 'stream', name: 'stdout', text: ['hi', '!'] }} />).textContent).toBe('hi!');
    const error = render(
      <OutputView
        output={{ output_type: 'error', ename: 'ValueError', evalue: 'x', traceback: ['\u001b[31mValueError\u001b[0m: x'] }}
      />
    );
    expect(error.textContent).toBe('ValueError: x');
    const image = render(
      <OutputView output={{ output_type: 'display_data', data: { 'image/png': 'AAAA\n', 'text/plain': '<Image>' } }} />
    );
    expect(image.querySelector('img')?.getAttribute('src')).toBe('data:image/png;base64,AAAA');
  });

  it('formats sizes as the server does', () => {
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MiB');
    expect(formatBytes(1536 * 1024 * 1024)).toBe('1.5 GiB');
    expect(formatBytes(null)).toBe('—');
  });
});

describe('Run again…', () => {
  it('pre-fills the form with the values a run was given', () => {
    const fields = buildFields([
      parameterSpec({ name: 'alpha', type: 'float', default: 0.5, default_source: '0.5' }),
      parameterSpec({ name: 'label', type: 'str', default: 'a', default_source: "'a'" }),
      parameterSpec({ name: 'flags', type: 'list', default: [], default_source: '[]' }),
      parameterSpec({ name: 'kept', type: 'int', default: 1, default_source: '1' })
    ]);
    const state = formStateOf(fields, {
      parameters: { alpha: 0.25, label: 'tuned', flags: [1, 2], gone: 3 },
      timeout_seconds: 600,
      tags: ['a', 'b']
    });
    expect(state).toEqual({
      texts: { alpha: '0.25', label: 'tuned', flags: '[1,2]' },
      timeout: '600',
      tags: 'a, b'
    });
  });
});
