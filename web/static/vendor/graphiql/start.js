// Moot's own start-up script for the vendored GraphiQL (not part of the GraphiQL package):
// renders GraphiQL against /graphql on this origin, with the example operations as tabs.
// Signed-in browsers act as themselves: the CSRF token in the page proves the request is ours.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var data = JSON.parse(document.getElementById("moot-graphiql").textContent);
  document.documentElement.style.height = "100%";
  document.body.style.height = "100%";
  document.body.style.margin = "0";
  root.style.height = "100%";
  root.textContent = "";
  var fetcher = GraphiQL.createFetcher({
    url: "/graphql",
    headers: { "X-CSRF-Token": data.csrfToken },
  });
  var tabs = data.tabs.length ? data.tabs : undefined;
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      defaultEditorToolsVisibility: true,
    })
  );
})();
