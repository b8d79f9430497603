// Hand-written flamebearers shared by the tests.

import type { Flamebearer } from './model';

// total [0,10)
//   main [0,8) self 1          gc [8,10) self 1
//     a [1,4) self 3  b [4,8) self 2     a [9,10) self 1   <- gap of 1 after gc's self
//                       a [6,8) self 2                      <- first bar: absolute x
export const singleFb: Flamebearer = {
  names: ['total', 'main', 'a', 'b', 'gc'],
  levels: [
    [0, 10, 0, 0],
    [0, 8, 1, 1, 0, 2, 1, 4],
    [1, 3, 3, 2, 0, 4, 2, 3, 1, 1, 1, 2],
    [6, 2, 2, 2],
  ],
  numTicks: 10,
  maxSelf: 3,
};

// Left (10 ticks): main: a 6, b 4.  Right (20 ticks): main self 2: a 4, b 10,
// c 4 (c only on the right). Right side has a gap of 2 before a.
export const doubleFb: Flamebearer = {
  names: ['total', 'main', 'a', 'b', 'c'],
  levels: [
    [0, 10, 0, 0, 20, 0, 0],
    [0, 10, 0, 0, 20, 2, 1],
    [0, 6, 6, 2, 4, 4, 2, 0, 4, 4, 0, 10, 10, 3, 0, 0, 0, 0, 4, 4, 4],
  ],
  numTicks: 30,
  maxSelf: 10,
};
