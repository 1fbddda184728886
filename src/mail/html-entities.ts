// Character references in HTML (`&eacute;`, `&rsquo;`, `&#8217;`, `&#x2019;`, legacy `&copy` without
// its `;`), decoded as a browser decodes them: the HTML standard's named character references, and
// numeric references with its replacements (`&#128;` is `€`, as in Windows-1252).
import { decodeHTML } from 'entities';

export function decodeHtmlEntities(html: string): string {
  return html.includes('&') ? decodeHTML(html) : html;
}
