import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The audit log's file descriptor: opened for appending, locked against a second writing
/// process, and written with every byte flushed to disk before a write returns.
struct AuditFile {
    let path: String
    let descriptor: Int32

    /// What the end of the file holds, to continue the chain.
    struct Tail {
        /// The last line's bytes (without newline), or nil for an empty file.
        var lastLine: [UInt8]?
        /// False when the file ends in the middle of a line (a write cut short).
        var complete: Bool
    }

    static func openForAppend(path: String) throws -> AuditFile {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            let reason = "cannot create the folder \(folder.path): \(error.localizedDescription)"
            throw AuditError.cannotOpen(path: path, reason: reason)
        }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AuditError.cannotOpen(path: path, reason: errorText()) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            let reason = errorText()
            close(fd)
            throw busy ? AuditError.inUse(path: path) : AuditError.cannotOpen(path: path, reason: reason)
        }
        return AuditFile(path: path, descriptor: fd)
    }

    /// Releases the lock, then closes the descriptor. The explicit unlock matters: a child
    /// process being started at that moment shares the open file (until its exec closes it),
    /// and would otherwise keep the lock a little longer than this process.
    func release() {
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Reads backwards from the end until the start of the last line.
    func tail() throws -> Tail {
        var size = try fileSize()
        guard size > 0 else { return Tail(lastLine: nil, complete: true) }
        let complete = try read(at: size - 1, count: 1) == [newline]
        if complete { size -= 1 }
        var line: [UInt8] = []
        var end = size
        while end > 0 {
            let start = max(0, end - 65_536)
            let chunk = try read(at: start, count: end - start)
            if let cut = chunk.lastIndex(of: newline) {
                line.insert(contentsOf: chunk[(cut + 1)...], at: 0)
                return Tail(lastLine: line, complete: complete)
            }
            line.insert(contentsOf: chunk, at: 0)
            end = start
        }
        return Tail(lastLine: line, complete: complete)
    }

    /// The number of newlines in the file.
    func countLines() throws -> Int {
        let size = try fileSize()
        var count = 0
        var offset = 0
        while offset < size {
            let chunk = try read(at: offset, count: min(1 << 20, size - offset))
            count += chunk.reduce(0) { $1 == newline ? $0 + 1 : $0 }
            offset += chunk.count
        }
        return count
    }

    /// Writes every byte (the file is in append mode) and flushes it to disk. Returns how many
    /// bytes were written when it throws after a partial write.
    func append(_ bytes: [UInt8]) throws(PartialWrite) {
        try writeAll(bytes)
        do { try sync() } catch { throw PartialWrite(written: bytes.count, reason: error.reason) }
    }

    /// Writes every byte, without waiting for the disk (see `sync`).
    func writeAll(_ bytes: [UInt8]) throws(PartialWrite) {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PartialWrite(written: written, reason: errorText())
            }
            written += n
        }
    }

    /// Flushes what was written to disk.
    func sync() throws(PartialWrite) {
        while fsync(descriptor) != 0 {
            if errno != EINTR { throw PartialWrite(written: 0, reason: "fsync: \(errorText())") }
        }
    }

    struct PartialWrite: Error {
        var written: Int
        var reason: String
    }

    private let newline = UInt8(ascii: "\n")

    private func fileSize() throws -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw AuditError.cannotRead(path: path, reason: errorText()) }
        return Int(info.st_size)
    }

    private func read(at offset: Int, count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer[done...].withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset + done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw AuditError.cannotRead(path: path, reason: n == 0 ? "unexpected end of file" : errorText()) }
            done += n
        }
        return buffer
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
    private func errorText() -> String { Self.errorText() }
}
