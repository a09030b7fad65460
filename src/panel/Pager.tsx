import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IPaged } from './usePaged';

/**
 * Previous / Next for a server-paginated list shown as something other than a
 * list (e.g. the versions table); nothing when everything fits on one page.
 */
export function Pager<T>({
  paged,
  label
}: {
  paged: IPaged<T>;
  label: string;
}): JSX.Element | null {
  const page = paged.page;
  if (!page || (page.total <= page.limit && !paged.hasPrevious)) {
    return null;
  }
  const first = page.items.length ? page.offset + 1 : 0;
  const last = page.offset + page.items.length;
  return (
    <nav className="jp-mlops-pager" aria-label={`${label} pages`}>
      <Button
        className="jp-mlops-pager-previous"
        small
        minimal
        disabled={!paged.hasPrevious}
        onClick={paged.previous}
      >
        Previous
      </Button>
      <span className="jp-mlops-pager-range" aria-live="polite">
        {first}–{last} of {page.total}
      </span>
      <Button
        className="jp-mlops-pager-next"
        small
        minimal
        disabled={!paged.hasNext}
        onClick={paged.next}
      >
        Next
      </Button>
    </nav>
  );
}
