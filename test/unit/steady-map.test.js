// SteadyMap keeps a hidden entry so V8 never shrinks its table; none of that may show.
const { SteadyMap } = require('../../dist/steady-map');

describe('SteadyMap', () => {
  test('looks empty when empty, and like a Map otherwise', () => {
    const map = new SteadyMap();
    expect(map.size).toBe(0);
    expect([...map.values()]).toEqual([]);
    map.set('a', 1);
    map.set('b', 2);
    expect(map.size).toBe(2);
    expect(map.get('a')).toBe(1);
    expect(map.get('missing')).toBeUndefined();
    expect([...map.values()]).toEqual([1, 2]);
    expect(map.delete('a')).toBe(true);
    expect(map.delete('a')).toBe(false);
    expect(map.size).toBe(1);
  });

  test('entries deleted while iterating are skipped, as with a Map', () => {
    const map = new SteadyMap();
    for (let i = 0; i < 5; i++) map.set(i, i);
    const seen = [];
    for (const value of map.values()) {
      seen.push(value);
      map.delete(value + 1);
    }
    expect(seen).toEqual([0, 2, 4]);
  });

  test('clear empties it for good, and it fills again', () => {
    const map = new SteadyMap();
    map.set('a', 1);
    map.clear();
    expect(map.size).toBe(0);
    expect([...map.values()]).toEqual([]);
    map.set('b', 2);
    expect([...map.values()]).toEqual([2]);
  });
});
