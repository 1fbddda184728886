// Letters of other scripts that are drawn like Latin ones, written into Latin words to hide them from
// filters: "vіаgrа" with Cyrillic і and а, "РayPal" with a Cyrillic Р. A word that mixes Latin letters
// with these reads to the filter as it reads to the eye.
//
// Each pair is one of Unicode's confusables (UTS #39, confusables.txt): the letter and the Latin one
// share a skeleton (м and m both reduce to "rn", ԝ and w to "vv"). Only Cyrillic and Greek letters,
// and only those whose look-alike is a plain Latin letter; a word wholly in Cyrillic or Greek is left
// as written, since it is most likely just Russian or Greek. The SpamAssassin corpus has next to no
// such words: two figures of `npm run tune` moved, in their fourth decimal.
const PAIRS =
  // Cyrillic small letters
  'аaсcԁdеeһhіiӏiјjкkмmпnоoрpԛqгrѕsтtцuѵvԝwѡwхxуyүy' +
  // Cyrillic capital letters
  'АAВBСCЕEНHЈJКKМMОOРPЅSТTХXҮYԜW' +
  // Greek small and capital letters
  'αaιiκkνvοoσoπnρpτtυuγyΑAΒBΕEΖZΗHΚKΜMΝNΟOΡPΤTΥYΧX';

const LATIN_OF = new Map<string, string>();
for (let i = 0; i < PAIRS.length; i += 2) LATIN_OF.set(PAIRS[i], PAIRS[i + 1]);

const LOOKALIKE = new RegExp(`[${[...LATIN_OF.keys()].join('')}]`, 'u');
const LOOKALIKES = new RegExp(LOOKALIKE.source, 'gu');
const LATIN = /[a-z]/i;

/** The word with its look-alike letters read as Latin, when it has Latin letters of its own; else as it is. */
export function withLatinLookalikes(word: string): string {
  if (!LATIN.test(word) || !LOOKALIKE.test(word)) return word;
  return word.replace(LOOKALIKES, (letter) => LATIN_OF.get(letter)!);
}
