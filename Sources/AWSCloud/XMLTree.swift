import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XML element as a small tree: name, text and child elements (attributes are not kept;
/// AWS's Query answers carry none that matter).
struct XMLTree: Sendable, Equatable {
    var name: String
    var text: String
    var children: [XMLTree]

    init(name: String, text: String = "", children: [XMLTree] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// The first child named `name`.
    func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    /// Every child named `name`.
    func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// The element at a path of child names.
    func at(_ path: String...) -> XMLTree? {
        var node: XMLTree? = self
        for name in path { node = node?.child(name) }
        return node
    }

    /// The text of the child at a path; nil when absent.
    func string(_ path: String...) -> String? {
        var node: XMLTree? = self
        for name in path { node = node?.child(name) }
        return node?.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The `member` elements of the list child `name` (Query protocol lists).
    func members(_ name: String) -> [XMLTree] { child(name)?.children("member") ?? [] }

    /// The first element named `name` in this tree, depth first.
    func first(named name: String) -> XMLTree? {
        if self.name == name { return self }
        for child in children {
            if let found = child.first(named: name) { return found }
        }
        return nil
    }

    /// Parses XML text; nil when it is not well-formed XML.
    static func parse(_ bytes: [UInt8]) -> XMLTree? {
        let builder = XMLTreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        parser.shouldProcessNamespaces = false
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }
}

/// Builds an `XMLTree` from `XMLParser`'s events.
private final class XMLTreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLTree] = []
    var root: XMLTree?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        stack.append(XMLTree(name: elementName))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard var done = stack.popLast() else { return }
        // Whitespace between child elements is layout, not content.
        if !done.children.isEmpty, done.text.allSatisfy(\.isWhitespace) { done.text = "" }
        if stack.isEmpty {
            root = done
        } else {
            stack[stack.count - 1].children.append(done)
        }
    }
}
