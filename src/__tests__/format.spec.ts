import {
  basename,
  formatDuration,
  formatMetric,
  formatRelativeTime
} from '../panel/format';

describe('formatRelativeTime', () => {
  const now = Date.parse('2025-03-10T12:00:00Z');

  it.each([
    ['2025-03-10T11:59:30Z', '30 s ago'],
    ['2025-03-10T11:55:00Z', '5 min ago'],
    ['2025-03-10T09:00:00Z', '3 h ago'],
    ['2025-03-08T12:00:00Z', '2 d ago']
  ])('%s -> %s', (iso, expected) => {
    expect(formatRelativeTime(iso, now)).toBe(expected);
  });

  it('shows a dash for a missing time and the raw text for an invalid one', () => {
    expect(formatRelativeTime(null, now)).toBe('—');
    expect(formatRelativeTime('yesterday', now)).toBe('yesterday');
  });
});

describe('formatDuration', () => {
  it.each([
    [0.42, '0.4 s'],
    [42, '42 s'],
    [185, '3 min 5 s'],
    [3725, '1 h 2 min'],
    [null, '—']
  ])('%s -> %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });
});

describe('formatMetric', () => {
  it('keeps integers and rounds floats to 4 significant digits', () => {
    expect(formatMetric(12)).toBe('12');
    expect(formatMetric(0.912345)).toBe('0.9123');
    expect(formatMetric(1234.5678)).toBe('1235');
  });
});

describe('basename', () => {
  it('returns the file name of a path', () => {
    expect(basename('a/b/train.ipynb')).toBe('train.ipynb');
    expect(basename('train.ipynb')).toBe('train.ipynb');
  });
});
