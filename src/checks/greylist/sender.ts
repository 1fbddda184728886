// The sender part of a greylisting triplet. Mailing lists and forwarders put a tag in the envelope
// sender that changes with every message (VERP, SRS, BATV); kept as it is, every message of a list
// would be greylisted again. What is left is the address the sender keeps using.

/** Lower case, SRS and BATV unwrapped, then postgrey's rule: the `+extension` dropped and numbers made `#`. */
export function normaliseSender(address: string): string {
  let a = address.toLowerCase();
  if (!a) return '';
  // SRS (Shevek's scheme, libsrs2): SRS0=HHH=TT=domain=local@forwarder, SRS1=HHH=forwarder==HHH=TT=domain=local@forwarder2.
  const srs = /^srs0=[^=]+=[^=]+=([^=@]+)=([^@]+)@[^@]+$/.exec(a) ?? /^srs1=[^=]+=[^=@]+==[^=]+=[^=]+=([^=@]+)=([^@]+)@[^@]+$/.exec(a);
  if (srs) a = `${srs[2]}@${srs[1]}`;
  const at = a.lastIndexOf('@');
  if (at < 0) return a;
  let local = a.slice(0, at);
  // BATV (draft-levine-smtp-batv): prvs=tag-val=loc-core.
  const batv = /^prvs=[^=]+=(.+)$/.exec(local);
  if (batv) local = batv[1];
  // postgrey (do_sender_substitutions): "strip extension, used sometimes for mailing-list VERP",
  // "replace numbers in VERP addresses with '#' so that we don't create a new key for each mail".
  local = local.replace(/\+.*/, '').replace(/\b\d+\b/g, '#');
  return `${local}${a.slice(at)}`;
}
