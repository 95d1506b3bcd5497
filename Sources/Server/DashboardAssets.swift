/// The dashboard's script and style sheet, served as files (the Content-Security-Policy allows
/// no inline script or style).
enum DashboardAssets {
    /// Follows a deployment's events (Server-Sent Events, from the same stream as
    /// WatchDeployment) and updates the page; every value is set as text, never as HTML.
    static let script = #"""
        "use strict";
        // The overview: each change becomes its row (updated in place, or added on top).
        (function () {
          var feed = document.getElementById("overview");
          if (!feed || !window.EventSource) { return; }
          var prefix = feed.getAttribute("data-prefix");
          var source = new EventSource(feed.getAttribute("data-events"));
          function cell(row, text) {
            var td = document.createElement("td");
            if (text !== undefined) { td.textContent = text; }
            row.appendChild(td);
            return td;
          }
          function badge(td, status) {
            td.textContent = "";
            var span = document.createElement("span");
            span.className = "status s-" + status.toLowerCase();
            span.textContent = status;
            td.appendChild(span);
          }
          source.onmessage = function (message) {
            var c = JSON.parse(message.data);
            var deployment = c.kind === "deployment";
            var table = document.querySelector(deployment ? "#deployments tbody" : "#releases tbody");
            if (!table) { return; }
            var row = null;
            for (var i = 0; i < table.rows.length; i++) {
              if (table.rows[i].getAttribute("data-id") === c.id) { row = table.rows[i]; }
            }
            if (!row) {
              row = document.createElement("tr");
              row.setAttribute("data-id", c.id);
              var link = document.createElement("a");
              link.href = prefix + (deployment ? "/deployments/" : "/releases/") + encodeURIComponent(c.id);
              link.textContent = c.id;
              cell(row).appendChild(link);
              cell(row, c.title);
              if (deployment) { cell(row, c.strategy); }
              cell(row); cell(row); cell(row);
              table.insertBefore(row, table.firstChild);
            }
            var approvals = document.getElementById("approvals");
            if (approvals) {
              var list = approvals.querySelector("ul");
              var item = null;
              for (var k = 0; k < list.children.length; k++) {
                if (list.children[k].getAttribute("data-id") === c.id) { item = list.children[k]; }
              }
              if (c.status === "PENDING_APPROVAL" && !item) {
                item = document.createElement("li");
                item.setAttribute("data-id", c.id);
                var to = document.createElement("a");
                to.href = prefix + (deployment ? "/deployments/" : "/releases/") + encodeURIComponent(c.id);
                to.textContent = c.id;
                item.appendChild(to);
                item.appendChild(document.createTextNode(" " + c.title));
                list.appendChild(item);
              } else if (c.status !== "PENDING_APPROVAL" && item) {
                list.removeChild(item);
              }
              approvals.hidden = list.children.length === 0;
            }
            var cells = row.cells;
            if (deployment) {
              badge(cells[3], c.status);
              cells[4].textContent = c.progress + "%";
              cells[5].textContent = c.updated;
            } else {
              badge(cells[2], c.status);
              cells[3].textContent = c.strategy;
              cells[4].textContent = c.updated;
            }
          };
        })();
        (function () {
          var list = document.getElementById("events");
          if (!list || !window.EventSource) { return; }
          var finals = ["SUCCEEDED", "FAILED", "ROLLED_BACK", "REJECTED", "INTERRUPTED"];
          var states = {"stage.started": "RUNNING", "stage.succeeded": "SUCCEEDED", "stage.failed": "FAILED", "stage.cancelled": "FAILED"};
          var source = new EventSource(list.getAttribute("data-events"));
          function setText(id, value) {
            var element = document.getElementById(id);
            if (element) { element.textContent = value; }
          }
          function span(className, value) {
            var element = document.createElement("span");
            element.className = className;
            element.textContent = value;
            return element;
          }
          source.onmessage = function (message) {
            var e = JSON.parse(message.data);
            var status = document.getElementById("status");
            if (status) {
              status.textContent = e.status;
              status.className = "status s-" + e.status.toLowerCase();
            }
            var bar = document.getElementById("progress");
            if (bar && e.progress !== undefined) { bar.value = e.progress; setText("progress-text", e.progress + "%"); }
            if (e.entry && /^entry\./.test(e.type)) {
              var cells = document.querySelectorAll("[data-entry]");
              var named = {"started": "IN_PROGRESS", "rollback_failed": "FAILED"};
              var state = (named[e.type.slice(6)] || e.type.slice(6)).toUpperCase();
              for (var j = 0; j < cells.length; j++) {
                if (cells[j].getAttribute("data-entry") === e.entry && state !== "REGISTERED" && state !== "RESUMED") {
                  var badge = cells[j].querySelector(".status") || cells[j];
                  badge.textContent = state;
                  badge.className = "status s-" + state.toLowerCase();
                }
              }
            }
            if (e.stage && e.message && /^(waitTaskSetHealthy|waitForStability)/.test(e.stage)) { setText("health", e.message); }
            if (e.stage) {
              setText("stage", e.stage);
              var rows = document.querySelectorAll("#stages li");
              for (var i = 0; i < rows.length; i++) {
                if (rows[i].getAttribute("data-stage") === e.stage && states[e.type]) {
                  rows[i].className = "st-" + states[e.type].toLowerCase();
                  rows[i].querySelector(".state").textContent = states[e.type];
                  if (e.message) { rows[i].querySelector(".msg").textContent = e.message; }
                }
              }
            }
            var item = document.createElement("li");
            var time = document.createElement("time");
            time.textContent = e.at;
            item.appendChild(time);
            item.appendChild(document.createTextNode(" "));
            item.appendChild(span("type", e.type));
            var about = e.stage || e.entry;
            if (about) { item.appendChild(document.createTextNode(" ")); item.appendChild(span("stage", about)); }
            if (e.message) { item.appendChild(document.createTextNode(" ")); item.appendChild(span("msg", e.message)); }
            list.appendChild(item);
            if (finals.indexOf(e.status) >= 0) {
              source.close();
              var actions = document.querySelector(".actions");
              if (actions && e.status !== "SUCCEEDED" && e.status !== "FAILED") { actions.hidden = true; }
            }
          };
        })();
        """#

    static let style = """
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2430; background: #f6f7f9; }
        header { display: flex; gap: 1em; align-items: center; padding: .6em 1em; background: #232f3e; color: #fff; flex-wrap: wrap; }
        header a.home { color: #fff; font-weight: 600; text-decoration: none; }
        header nav a { color: #d7dde5; margin-right: .8em; text-decoration: none; }
        header .who { margin-left: auto; opacity: .85; }
        main { max-width: 72em; margin: 0 auto; padding: 1em; }
        h1 { font-size: 1.4em; margin: .3em 0 .6em; word-break: break-all; }
        h2 { font-size: 1.1em; margin-top: 1.6em; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
        .status { display: inline-block; padding: 0 .45em; border-radius: .3em; font-size: .85em; font-weight: 600; background: #e3e6ea; }
        .s-succeeded { background: #d4f3dc; color: #0b6623; }
        .s-failed, .s-rolled_back, .s-rejected, .s-interrupted { background: #fde0e0; color: #9b1c1c; }
        .s-in_progress, .s-rolling_back { background: #dbe9ff; color: #123f8c; }
        .s-pending_approval, .s-waiting_window { background: #fff1c9; color: #7a5600; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; background: #fff; padding: .8em; margin: 0; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; word-break: break-all; }
        ol.stages, ol.events { background: #fff; padding: .6em 2em; margin: 0; }
        ol.stages li .state { display: inline-block; min-width: 7em; font-weight: 600; font-size: .85em; }
        .st-succeeded .state { color: #0b6623; } .st-failed .state { color: #9b1c1c; } .st-running .state { color: #123f8c; }
        .msg, .when, time { color: #5b6472; }
        .msg { display: block; }
        ol.events .msg { display: inline; }
        form.filter, form.action, form.login { display: flex; gap: .6em; flex-wrap: wrap; align-items: end; margin: .6em 0; }
        form.inline { display: inline; }
        section.approvals { background: #fff1c9; padding: .4em 1em; }
        .notice { background: #fff1c9; padding: .5em 1em; }
        svg.traffic { width: 100%; max-width: 30em; height: 8em; background: #fff; }
        svg.traffic path { fill: none; stroke: #123f8c; stroke-width: 2; }
        input, select, button { font: inherit; padding: .25em .5em; }
        @media (max-width: 40em) { dl.facts { grid-template-columns: 1fr; } main { padding: .5em; } }
        """
}
