import { describe, expect, it } from 'vitest';
import { applyCompletion, completionContext, rankCandidates } from './complete';

describe('completionContext', () => {
  it('finds a label name after { and ,', () => {
    expect(completionContext('{', 1)).toEqual({ kind: 'name', prefix: '', start: 1, end: 1 });
    expect(completionContext('{serv', 5)).toEqual({ kind: 'name', prefix: 'serv', start: 1, end: 5 });
    const t = '{service_name="api", po';
    expect(completionContext(t, t.length)).toEqual({ kind: 'name', prefix: 'po', start: 21, end: 23 });
  });
  it('finds a value inside quotes, with its label', () => {
    const t = '{service_name="ap';
    expect(completionContext(t, t.length)).toEqual({
      kind: 'value', label: 'service_name', prefix: 'ap', start: 15, end: 17,
    });
    const r = '{a="x", pod=~"we';
    expect(completionContext(r, r.length)).toMatchObject({ kind: 'value', label: 'pod', prefix: 'we' });
  });
  it('finds a value right after the operator', () => {
    expect(completionContext('{env=', 5)).toEqual({ kind: 'value', label: 'env', prefix: '', start: 5, end: 5 });
  });
  it('is null outside braces and after a complete matcher', () => {
    expect(completionContext('abc', 3)).toBeNull();
    expect(completionContext('{a="b"}', 7)).toBeNull();
    expect(completionContext('{a="b" ', 7)).toBeNull();
  });
});

describe('applyCompletion', () => {
  it('inserts a name with =" and puts the cursor in the quotes', () => {
    const ctx = completionContext('{serv', 5)!;
    expect(applyCompletion('{serv', ctx, 'service_name')).toEqual({ text: '{service_name="', cursor: 15 });
  });
  it('completes a quoted value and closes the quote', () => {
    const t = '{service_name="ap';
    const ctx = completionContext(t, t.length)!;
    expect(applyCompletion(t, ctx, 'api-gw')).toEqual({ text: '{service_name="api-gw"', cursor: 22 });
  });
  it('quotes and escapes a value after the operator', () => {
    const ctx = completionContext('{env=}', 5)!;
    expect(applyCompletion('{env=}', ctx, 'a"b')).toEqual({ text: '{env="a\\"b"}', cursor: 11 });
  });
});

describe('rankCandidates', () => {
  it('puts prefix matches before substring matches', () => {
    expect(rankCandidates(['pod', 'app_pod', 'region', 'podium'], 'pod')).toEqual(['pod', 'podium', 'app_pod']);
    expect(rankCandidates(['b', 'a'], '')).toEqual(['b', 'a']);
  });
});
