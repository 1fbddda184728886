// The parts of greylisting that need no network: the sender a triplet keeps, and the client network.
import { describe, expect, it } from 'vitest';
import { normaliseSender } from '../../src/checks/greylist/sender.ts';
import { networkOf } from '../../src/util/ip.ts';

describe('the sender of a triplet', () => {
  it('drops the VERP part, as Postfix writes it', () => {
    // Postfix verp_sender(3): "with delims +=, sender prefix@origin, and recipient user@domain the result is prefix+user=domain@origin".
    expect(normaliseSender('prefix+user=domain@origin')).toBe('prefix@origin');
  });

  it('unwraps SRS0 and SRS1 addresses of forwarders', () => {
    // The SRS formats (libsrs2, Mail::SRS): SRS0=HHH=TT=domain=local@forwarder, SRS1=HHH=forwarder==HHH=TT=domain=local@forwarder2.
    expect(normaliseSender('SRS0=HHH=TT=example.org=alice@forwarder.example')).toBe('alice@example.org');
    expect(normaliseSender('SRS1=HHH=forwarder.example==HHH=TT=example.org=alice@forwarder2.example')).toBe('alice@example.org');
    // Each message has its own hash and timestamp: they must not make a new triplet.
    expect(normaliseSender('SRS0=k3Xq=6T=example.org=alice@forwarder.example')).toBe(normaliseSender('SRS0=Zz9a=6U=example.org=alice@forwarder.example'));
  });

  it('removes a BATV tag', () => {
    // draft-levine-smtp-batv-01, 4.1: a tagged local part is "prvs=" tag-val "=" loc-core.
    expect(normaliseSender('prvs=1234abcdef=bob@example.com')).toBe('bob@example.com');
  });

  it('replaces numbers with #, as postgrey does, and lower-cases', () => {
    // postgrey's do_sender_substitutions: s/\+.*// then s/\b\d+\b/#/g on the local part.
    expect(normaliseSender('Bounce-4711-23@Lists.Example.ORG')).toBe('bounce-#-#@lists.example.org');
    expect(normaliseSender('user2000x@example.org')).toBe('user2000x@example.org');
    expect(normaliseSender('')).toBe('');
  });
});

describe('the client network', () => {
  it('is the /24 of an IPv4 address and the /64 of an IPv6 address by default', () => {
    // Addresses from the documentation ranges (RFC 5737, RFC 3849).
    expect(networkOf('192.0.2.77', 24, 64)).toBe('192.0.2.0/24');
    expect(networkOf('::ffff:198.51.100.9', 24, 64)).toBe('198.51.100.0/24');
    expect(networkOf('2001:db8:1:2:3:4:5:6', 24, 64)).toBe('2001:db8:1:2::/64');
    expect(networkOf('203.0.113.200', 28, 64)).toBe('203.0.113.192/28');
    expect(networkOf('2001:db8::1', 24, 128)).toBe('2001:db8::1/128');
  });
});
