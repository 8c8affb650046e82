// The run socket's frames, on every page that shows a run: the server numbers them and asks for
// an acknowledgement every few (`<!--frame N ack-->`); it holds a run's text back while too many
// are unacknowledged, so a page that falls behind slows its run down instead of growing the
// server's memory.
window.acknowledgeFrame = (function () {
  const FRAME = /^<!--frame (\d+)( ack)?-->/;
  return function acknowledgeFrame(event) {
    const match = FRAME.exec(event.detail.message);
    if (match && match[2]) {
      event.detail.socketWrapper.sendImmediately(
        JSON.stringify({ action: "ack", seq: Number(match[1]) }));
    }
  };
})();
