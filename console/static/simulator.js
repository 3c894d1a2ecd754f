// The WeChat simulator: ask the console to sign a message as WeChat would, post it to /wechat, show the answer.
(function () {
  "use strict";
  const phone = document.querySelector(".phone");
  const bubbles = document.getElementById("bubbles");
  const token = document.querySelector('meta[name="csrf-token"]').content;

  function bubble(text, mine) {
    const item = document.createElement("li");
    item.className = mine ? "mine" : "theirs";
    item.textContent = text;
    bubbles.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  async function shown(body) {
    // The server opens the answer: it holds the AES key that a sealed (safe-mode) answer needs.
    const opened = await fetch(phone.dataset.open, {
      method: "POST", body: body, headers: { "X-CSRFToken": token, "Content-Type": "text/xml" },
      credentials: "same-origin",
    });
    if (!opened.ok) return "(无法解读的回复)";
    return (await opened.json()).text;
  }

  async function send(kind, value, label) {
    bubble(label, true);
    const form = new URLSearchParams({ openid: phone.dataset.openid, kind: kind, value: value || "" });
    const signed = await fetch(phone.dataset.sign, {
      method: "POST", body: form, headers: { "X-CSRFToken": token }, credentials: "same-origin",
    });
    if (!signed.ok) { bubble("(发送失败)", false); return; }
    const message = await signed.json();
    const answer = await fetch(message.url, { method: "POST", body: message.body, headers: { "Content-Type": "text/xml" } });
    if (!answer.ok) { bubble("(公众号未受理该消息,HTTP " + answer.status + ")", false); return; }
    const reply = await shown(await answer.text());
    if (reply) bubble(reply, false);
  }

  document.getElementById("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("text");
    if (!input.value.trim()) return;
    send("text", input.value, input.value);
    input.value = "";
  });
  document.getElementById("send-location").addEventListener("click", (event) => {
    send("location", event.target.dataset.value, "[位置] " + event.target.dataset.value);
  });
  document.getElementById("send-video").addEventListener("click", () => send("video", "", "[视频]"));
  function scan() {
    const code = document.getElementById("doorplate").value;
    send("scan", code, "[扫门牌] " + code);
  }
  document.getElementById("send-scan").addEventListener("click", scan);
  document.querySelectorAll(".menu button[data-key]").forEach((button) => {
    button.addEventListener("click", () => {
      if (button.dataset.type === "scancode_waitmsg") { scan(); return; }
      send("click", button.dataset.key, "[菜单] " + button.textContent);
    });
  });
})();
