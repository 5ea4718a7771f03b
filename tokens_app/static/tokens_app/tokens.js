// Settings › Access Tokens: copy button, confirm dialogs and focus management.
// Every control here is a link or form that also works without this file.
(function () {
  "use strict";

  const status = () => document.getElementById("status");

  function announce(message, kind = "success") {
    const region = status();
    if (!region) return;
    region.textContent = "";
    const line = document.createElement("p");
    line.className = `flash flash-${kind}`;
    line.textContent = message;
    // A fresh node after clearing makes screen readers announce repeats too.
    window.setTimeout(() => region.appendChild(line), 50);
  }

  async function copy(button) {
    const field = document.getElementById(button.dataset.copy);
    if (!field) return;
    field.focus();
    field.select();
    let copied = false;
    try {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    } catch (_error) {
      copied = document.execCommand && document.execCommand("copy");
    }
    button.textContent = copied ? "Copied" : "Copy";
    announce(copied ? "Token copied to the clipboard." : "Press Ctrl+C (or ⌘C) to copy the selected token.");
  }

  // The copy button needs this script, so it stays hidden until the script runs.
  function revealCopyButtons(root) {
    root.querySelectorAll("[data-copy][hidden]").forEach((button) => {
      button.hidden = false;
    });
  }

  revealCopyButtons(document);
  document.addEventListener("htmx:load", (event) => revealCopyButtons(event.target));

  let opener = null;

  function openDialog(link) {
    const dialog = document.getElementById(link.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") return false;
    opener = link;
    dialog.showModal();
    return true;
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const copyButton = target.closest("[data-copy]");
    if (copyButton) {
      event.preventDefault();
      copy(copyButton);
      return;
    }
    const dialogLink = target.closest("a[data-dialog]");
    if (dialogLink && openDialog(dialogLink)) {
      event.preventDefault();
      return;
    }
    const closer = target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
  });

  // Return focus to the control that opened the dialog, if it is still there.
  document.addEventListener("close", (event) => {
    if (event.target instanceof HTMLDialogElement && opener && opener.isConnected) {
      opener.focus();
    }
  }, true);

  document.addEventListener("tokens:status", (event) => {
    if (event.detail && event.detail.message) announce(event.detail.message);
  });

  // Where focus goes after each kind of swap, decided before the request.
  let focusAfterSwap = null;

  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    const row = elt.closest("tr.token-row");
    if (!row) return;
    const url = (event.detail.requestConfig && event.detail.requestConfig.path) || "";
    const dialog = elt.closest("dialog");
    // A form sent back with errors: focus its first invalid field.
    const invalid = (root) => root && root.querySelector('[aria-invalid="true"]');
    if (dialog && url.endsWith("/delete/")) {
      focusAfterSwap = () => document.querySelector(".page-head h1");
    } else if (dialog) {
      focusAfterSwap = () => document.getElementById("new-token") || invalid(dialog);
    } else if (url.endsWith("/edit/") && event.detail.requestConfig.verb === "get") {
      focusAfterSwap = () => document.querySelector(`#${row.id} input[name="name"]`);
    } else {
      focusAfterSwap = () =>
        invalid(document.getElementById(row.id)) ||
        document.querySelector(`#${row.id} a[href$="/edit/"]`);
    }
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const dialog = event.detail.requestConfig.elt.closest("dialog");
    const ok = event.detail.xhr.status < 300;
    if (dialog && ok && !dialog.contains(event.detail.target)) {
      opener = null;
      dialog.close();
    }
    if (!ok) focusAfterSwap = null;
  });

  // htmx swaps nothing on an error status; say so instead of doing nothing.
  document.addEventListener("htmx:responseError", (event) => {
    const code = event.detail.xhr.status;
    const message =
      code === 404
        ? "That token no longer exists. Reload the page to see your current tokens."
        : `Something went wrong (${code}). Reload the page and try again.`;
    announce(message, "error");
  });

  document.addEventListener("htmx:sendError", () => {
    announce("The server could not be reached. Check your connection and try again.", "error");
  });

  document.addEventListener("htmx:afterSettle", () => {
    if (!focusAfterSwap) return;
    const element = focusAfterSwap();
    focusAfterSwap = null;
    if (element) {
      if (!element.hasAttribute("tabindex") && element.tagName === "H1") element.setAttribute("tabindex", "-1");
      element.focus();
    }
  });
})();
