import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/**
 * A dialog body that does its own work when the user accepts (e.g. a POST), and
 * shows the server's error in place when that fails.
 */
export interface ISubmittableBody<T> extends Widget {
  /** Do the work; `false` keeps the dialog open (the body shows why). */
  submit(): Promise<boolean>;
  /** The dialog's value once `submit` succeeded. */
  getValue(): T;
}

/**
 * A {@link Dialog} that stays open until its body's `submit()` succeeded, so a
 * server error (a 400 naming a parameter, a 409 from a quality gate) is shown in
 * the dialog next to the values to fix, instead of closing it.
 */
export class SubmitDialog<T> extends Dialog<T> {
  constructor(options: SubmitDialog.IOptions<T>) {
    super(options);
    this._submittable = options.body;
    this._buttonList = options.buttons ?? [];
    this._defaultIndex =
      options.defaultButton ?? Math.max(0, this._buttonList.length - 1);
  }

  /** Accept runs the body's `submit()` first; other buttons behave as usual. */
  resolve(index?: number): void {
    const i = index ?? this._defaultIndex;
    const button = this._buttonList[i];
    if (!button || !button.accept) {
      super.resolve(index);
      return;
    }
    if (this._busy) {
      return;
    }
    this._busy = true;
    this.addClass('jp-mlops-mod-busy');
    void this._submittable
      .submit()
      .then(ok => {
        this._busy = false;
        this.removeClass('jp-mlops-mod-busy');
        if (ok && !this.isDisposed) {
          super.resolve(i);
        }
      })
      .catch(() => {
        // The body shows its own errors; never leave the dialog stuck busy.
        this._busy = false;
        this.removeClass('jp-mlops-mod-busy');
      });
  }

  private _submittable: ISubmittableBody<T>;
  private _buttonList: ReadonlyArray<Dialog.IButton>;
  private _defaultIndex: number;
  private _busy = false;
}

export namespace SubmitDialog {
  export interface IOptions<T> extends Partial<Dialog.IOptions<T>> {
    body: ISubmittableBody<T>;
  }
}
