// The shared store suite against LmdbStore. What only LMDB promises (surviving kill -9 and
// a restart) is in durability.test.ts.

import t from 'tap'
import { tempStore } from '../../helpers/store.js'
import { storeSuite } from './suite/index.js'

storeSuite(t, 'LmdbStore', (t, opts) => tempStore(t, opts))
