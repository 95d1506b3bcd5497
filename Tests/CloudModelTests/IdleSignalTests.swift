import CloudModel
import Foundation
import Synchronization
import Testing
import TestSupport

/// The test clock's explicit idle signal: work it wakes, or that is handed off, holds the clock
/// busy until it sleeps again or says it is done; nothing real-time decides.
@Suite struct IdleSignalTests {
    /// A gate a task waits on until the test opens it (real work that is not the clock's).
    final class Gate: Sendable {
        private let opened = Atomic<Bool>(false)
        func open() { opened.store(true, ordering: .relaxed) }
        func wait() async { while !opened.load(ordering: .relaxed) { await Task.yield() } }
    }

    @Test func aWokenTaskHoldsTheClockUntilItSleepsAgain() async throws {
        let clock = ManualClock()
        let gate = Gate()
        let worker = Task {
            try await clock.sleep(for: .seconds(10))
            await gate.wait()
            try await clock.sleep(for: .seconds(10))
        }
        while clock.sleeperCount == 0 { await Task.yield() }
        #expect(clock.isIdle)
        clock.advanceToNextDeadline()
        // Woken, and at work (waiting on the gate): not idle, however long that takes.
        #expect(!clock.isIdle)
        #expect(!(await clock.waitUntilIdle(limit: .milliseconds(20))))
        gate.open()
        #expect(await clock.waitUntilIdle(limit: .seconds(10)))
        #expect(clock.sleeperCount == 1)
        worker.cancel()
        _ = try? await worker.value
    }

    @Test func workHandedOffHoldsTheClockUntilTakenUpAndDone() async throws {
        let clock = ManualClock()
        let gate = Gate()
        clock.handOff(1)
        #expect(!clock.isIdle)
        let worker = Task {
            clock.takeUp(handedOff: true)
            await gate.wait()
            clock.workDone()
        }
        #expect(!(await clock.waitUntilIdle(limit: .milliseconds(20))))
        gate.open()
        await worker.value
        #expect(clock.isIdle)
        #expect(clock.idleWaitsGivenUp == 1)
    }

    @Test func aTaskWithoutWorkTakesNoneFromOthers() async {
        let clock = ManualClock()
        clock.handOff(1)
        // Saying it is done, a task that holds nothing gives nothing back.
        let gaveBack = await Task { clock.workDone() }.value
        #expect(!gaveBack)
        #expect(!clock.isIdle)
        await Task { clock.takeUp(handedOff: true); clock.workDone() }.value
        #expect(clock.isIdle)
    }

    @Test func aParentWaitingForChildrenIsHandedItsWorkBack() async {
        let clock = ManualClock()
        let gate = Gate()
        let wait = ParentWait(clock: clock)
        clock.handOff(1)
        let parent = Task {
            clock.takeUp(handedOff: true)
            await withTaskGroup(of: Void.self) { group in
                clock.handOff(1)
                group.addTask {
                    clock.takeUp(handedOff: true)
                    await gate.wait()
                    wait.childEnds()
                    clock.workDone()
                }
                wait.waits()
                await group.next()
                wait.resumes()
            }
            await gate.wait()
            clock.workDone()
        }
        #expect(!(await clock.waitUntilIdle(limit: .milliseconds(20))))
        gate.open()
        await parent.value
        #expect(clock.isIdle)
    }
}
