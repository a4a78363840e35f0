import { describe, expect, it } from 'vitest';
import { isValidUnicastMac, macVendor, normaliseMac, parseMac, randomMac } from '../../src/model/mac.js';
import { UserError } from '../../src/model/userError.js';

describe('parseMac / normaliseMac', () => {
  it.each([
    ['52:54:00:AB:cd:EF', '52:54:00:ab:cd:ef'],
    ['52-54-00-12-34-56', '52:54:00:12:34:56'],
    [' 00:50:56:3A:7F:01 ', '00:50:56:3a:7f:01'],
    ['00:0C:29:5B:C1:9E', '00:0c:29:5b:c1:9e'],
  ])('%j → %s', (text, mac) => {
    expect(parseMac(text)).toBe(mac);
    expect(normaliseMac(text)).toBe(mac);
  });

  it.each([
    ['52:54:00:12:34', /not a MAC/],
    ['52:54:00:12:34:5g', /not a MAC/],
    ['52:54-00:12:34:56', /not a MAC/],
    ['5254.0012.3456', /not a MAC/],
    ['525400123456', /not a MAC/],
    ['2:54:00:12:34:56', /not a MAC/],
    ['01:00:5e:00:00:01', /multicast/],
    ['ff:ff:ff:ff:ff:ff', /multicast/],
    ['53:54:00:12:34:56', /multicast/],
    ['00:00:00:00:00:00', /all-zero/],
  ])('rejects %j (%s)', (text, why) => {
    expect(() => parseMac(text)).toThrow(UserError);
    expect(() => parseMac(text)).toThrow(why);
    expect(isValidUnicastMac(text)).toBe(false);
  });

  it('normaliseMac checks syntax only', () => {
    expect(normaliseMac('01-00-5E-00-00-01')).toBe('01:00:5e:00:00:01');
  });
});

describe('randomMac', () => {
  it('kvm addresses use 52:54:00', () => {
    for (let i = 0; i < 200; i++) {
      const mac = randomMac('kvm');
      expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
      expect(isValidUnicastMac(mac)).toBe(true);
    }
  });
  it('vmware addresses stay in the static range 00:50:56:00–3f', () => {
    expect(randomMac('vmware', () => 0)).toBe('00:50:56:00:00:00');
    expect(randomMac('vmware', () => 0.999999)).toBe('00:50:56:3f:ff:ff');
    for (let i = 0; i < 200; i++) {
      const mac = randomMac('vmware');
      expect(mac).toMatch(/^00:50:56:[0-3][0-9a-f](:[0-9a-f]{2}){2}$/);
    }
  });
  it('is deterministic with an injected rng', () => {
    const seq = [0.5, 0.25, 0.75];
    let i = 0;
    expect(randomMac('kvm', () => seq[i++ % 3] as number)).toBe('52:54:00:80:40:c0');
  });
});

describe('macVendor', () => {
  it.each([
    ['52:54:00:12:34:56', 'kvm'],
    ['00:50:56:3A:7F:01', 'vmware-static'],
    ['00-0c-29-5b-c1-9e', 'vmware-generated'],
    ['08:00:27:00:00:01', 'other'],
    ['not a mac', 'other'],
  ])('%s → %s', (mac, vendor) => {
    expect(macVendor(mac)).toBe(vendor);
  });
});
