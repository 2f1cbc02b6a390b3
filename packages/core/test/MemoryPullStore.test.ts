import * as MemoryPullStore from "../src/MemoryPullStore.ts"
import * as PullStoreSuite from "../src/suites/PullStoreSuite.ts"

PullStoreSuite.suite("MemoryPullStore", MemoryPullStore.layer, { propertyRuns: 100 })
