// Type declarations of @quire/client/codemirror.
import type { AnnotationType, Extension } from '@codemirror/state';
import type { QuireDoc } from './index.js';

/** Marks transactions that carry someone else's edits (kept out of the undo history). */
export const quireRemote: AnnotationType<boolean>;

export interface BindingOptions {
  /** Minimum ms between two publications of the local selection (default 50). */
  throttleMs?: number;
  /** typing turns false this long after the last local edit (default 2000). */
  typingIdleMs?: number;
}

/** The editor's text must start as doc.text. */
export function quireBinding(doc: QuireDoc, options?: BindingOptions): Extension;
