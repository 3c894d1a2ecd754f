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

  function shown(xml) {
    const text = xml.trim();
    if (!text.startsWith("<xml")) return text === "success" ? "" : text;
    const doc = new DOMParser().parseFromString(text, "text/xml");
    const content = doc.querySelector("Content");
    if (content) return content.textContent;
    const titles = Array.from(doc.querySelectorAll("Title")).map((node) => node.textContent);
    return titles.join("\n");
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
    const reply = shown(await answer.text());
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
  document.getElementById("send-scan").addEventListener("click", () => {
    const code = document.getElementById("doorplate").value;
    send("scan", code, "[扫门牌] " + code);
  });
})();
