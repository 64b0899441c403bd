// /api/redoc/ loads nothing from other origins. Redoc's sidebar credit draws a logo from
// cdn.redoc.ly, with no option to leave it out: an image source on another origin is replaced
// here by an empty one, before the browser would fetch it, and Redoc leaves out an image that
// fails to load (the credit stays, without its logo). Runs before Redoc.
(function () {
  "use strict";
  const NOTHING = "data:,";
  function elsewhere(value) {
    const url = new URL(String(value), document.baseURI);
    return url.protocol !== "data:" && url.protocol !== "blob:" && url.origin !== location.origin;
  }
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    const image = this instanceof HTMLImageElement && String(name).toLowerCase() === "src";
    setAttribute.call(this, name, image && elsewhere(value) ? NOTHING : value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      src.set.call(this, elsewhere(value) ? NOTHING : value);
    },
  });
})();
