import { describe, expect, it } from 'vitest';
import { compactCodeTokens } from '../../src/site/code-tokens.js';

const page = (body: string) => `<html><head><title>t</title></head><body>${body}</body></html>`;

describe('compactCodeTokens', () => {
  it('names each set of colours once, in order of first use, and declares it in the head', () => {
    const html = page(
      '<span style="--0:#82AAFF;--1:#3B61B0">step</span><span style="--0:#D6DEEB;--1:#403F53">(</span>' +
        '<span style="--0:#82AAFF;--1:#3B61B0">check</span><span style="--1:#403F53">x</span>' +
        '<span style="--0:#919F9F;--0fs:italic;--1:#5F636F;--1fs:italic">// note</span>',
    );
    expect(compactCodeTokens(html)).toBe(
      '<html><head><title>t</title>' +
        '<style>.ec-t0{--0:#82AAFF;--1:#3B61B0}.ec-t1{--0:#D6DEEB;--1:#403F53}.ec-t2{--1:#403F53}' +
        '.ec-t3{--0:#919F9F;--0fs:italic;--1:#5F636F;--1fs:italic}</style></head><body>' +
        '<span class="ec-t0">step</span><span class="ec-t1">(</span><span class="ec-t0">check</span>' +
        '<span class="ec-t2">x</span><span class="ec-t3">// note</span></body></html>',
    );
  });

  it('leaves other inline styles, and a page without highlighted code, as they are', () => {
    const other = page('<pre style="--ecMaxLine:38ch"><span style="color:red">a</span></pre>');
    expect(compactCodeTokens(other)).toBe(other);
    expect(compactCodeTokens('<span style="--0:#fff">no head</span>')).toBe('<span style="--0:#fff">no head</span>');
  });

  it('does not touch what comes before the head ends', () => {
    const html = '<head><meta content=\'<span style="--0:#fff">\'></head><body><span style="--0:#fff">a</span></body>';
    expect(compactCodeTokens(html)).toBe(
      '<head><meta content=\'<span style="--0:#fff">\'><style>.ec-t0{--0:#fff}</style></head><body><span class="ec-t0">a</span></body>',
    );
  });
});

describe('compactCodeTokens, neighbours', () => {
  it('makes one span of same-coloured tokens with only spaces between them', () => {
    const html = page(
      '<span style="--0:#1">cat</span> <span style="--0:#2">/a</span> <span style="--0:#2">/b</span>' +
        '<span style="--0:#2">c</span>\n<span style="--0:#2">d</span>',
    );
    expect(compactCodeTokens(html)).toBe(
      '<html><head><title>t</title><style>.ec-t0{--0:#1}.ec-t1{--0:#2}</style></head><body>' +
        '<span class="ec-t0">cat</span> <span class="ec-t1">/a /bc</span>\n<span class="ec-t1">d</span></body></html>',
    );
  });

  it('keeps apart tokens whose background or underline would show under the space', () => {
    const body = '<span style="--0:#1;--0bg:#3">a</span> <span style="--0:#1;--0bg:#3">b</span>';
    expect(compactCodeTokens(page(body))).toContain('<span class="ec-t0">a</span> <span class="ec-t0">b</span>');
    const underlined = '<span style="--0:#1;--1td:underline">a</span> <span style="--0:#1;--1td:underline">b</span>';
    expect(compactCodeTokens(page(underlined))).toContain('<span class="ec-t0">a</span> <span class="ec-t0">b</span>');
  });

  it('does not reach across other markup', () => {
    const body = '<span style="--0:#1">a</span><div></div><span style="--0:#1">b</span>';
    expect(compactCodeTokens(page(body))).toContain(
      '<span class="ec-t0">a</span><div></div><span class="ec-t0">b</span>',
    );
  });
});
