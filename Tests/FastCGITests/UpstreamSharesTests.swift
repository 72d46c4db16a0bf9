import FastCGI
import Testing

@Suite struct UpstreamSharesTests {
    /// Eight workers: a share of three, a reserve of two. A tenant stops at its share; past six
    /// busy workers only tenants with nothing in flight and no slow answer of late start.
    @Test func aTenantHoldsItsShareAndTheReserveIsForTheOthers() {
        var shares = UpstreamShares(workers: 8)
        let now = ContinuousClock.now
        #expect(shares.reserve == 2 && shares.share == 3)
        for _ in 0..<3 {
            #expect(shares.mayStart("a", now: now))
            shares.start("a")
        }
        #expect(!shares.mayStart("a", now: now), "a holds its share")
        for _ in 0..<3 { shares.start("b") }
        #expect(shares.busy == 6)
        #expect(!shares.mayStart("b", now: now), "b holds its share")
        #expect(shares.mayStart("c", now: now), "the reserve serves a tenant with nothing in flight")
        shares.start("c")
        #expect(!shares.mayStart("c", now: now), "only a tenant with nothing in flight takes the reserve")
        shares.start("d")
        #expect(!shares.mayStart("e", now: now), "every worker is busy")
    }

    /// A slow answer keeps its tenant off the reserve for a while, but never off a free worker
    /// outside it: a slow tenant is never starved, only kept from the last workers.
    @Test func aSlowTenantIsKeptOffTheReserveButNotStarved() {
        var shares = UpstreamShares(workers: 8, slowAnswer: .seconds(1), slowFor: .seconds(30))
        let now = ContinuousClock.now
        for tenant in ["s1", "s2", "s3", "s4", "s5", "s6"] { shares.start(tenant) }
        shares.start("s7")
        shares.finish("s7", after: .seconds(3), now: now)
        #expect(shares.isSlow("s7", now: now) && shares.slowCount(now: now) == 1)
        #expect(!shares.mayStart("s7", now: now), "six busy: the reserve is not for a slow tenant")
        #expect(shares.mayStart("fresh", now: now))
        shares.finish("s1", after: .milliseconds(10), now: now)
        #expect(shares.mayStart("s7", now: now), "outside the reserve a slow tenant still starts")
        #expect(!shares.isSlow("s7", now: now + .seconds(31)), "the mark runs out")
        #expect(shares.slowCount(now: now + .seconds(31)) == 0)
    }

    /// One to three workers have no reserve: the one worker serves whoever is next, slow or not.
    @Test func aSmallPoolHasNoReserve() {
        var shares = UpstreamShares(workers: 1)
        let now = ContinuousClock.now
        #expect(shares.reserve == 0 && shares.share == 1)
        shares.start("a")
        shares.finish("a", after: .seconds(20), now: now)
        #expect(shares.mayStart("a", now: now))
        shares.start("a")
        #expect(!shares.mayStart("b", now: now))
        shares.replaceFaultedWorker()
        #expect(shares.mayStart("b", now: now), "a faulted worker's place is taken by its replacement")
    }
}
