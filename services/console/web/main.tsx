/**
 * The kitfed console's entry: sign-in (a token from the URL fragment `kitfed up` prints, or
 * pasted), the page shell and the hash router. Everything the views show comes from one live
 * stream (`store.ts`).
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { Store, type State } from './store.js';
import { parseRoute, type Route } from './ui.js';
import { Events } from './views/events.js';
import { Fleet } from './views/fleet.js';
import { ObjectView } from './views/object.js';
import { Objects } from './views/objects.js';
import { Rollouts } from './views/rollouts.js';
import { RunView, Runs } from './views/runs.js';

const TOKEN_KEY = 'kitfed-console-token';

/** A token handed over in the fragment (`#token=…`, never sent to a server or logged) is kept for this tab only. */
function takeTokenFromUrl(): string | undefined {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m?.[1]) return undefined;
  const token = decodeURIComponent(m[1]);
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  return token;
}

const store = new Store();

function useStoreState(): State {
  const [, setTick] = useState(0);
  useEffect(() => store.subscribe(() => setTick((n) => n + 1)), []);
  return store.state;
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function Login(props: { problem?: string; onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main id="main" class="login">
      <h1>Sign in to the kitfed console</h1>
      <p>
        The console reads the federation API with your own bearer token, so you see what your token may see.{' '}
        <code>npm start</code> prints a link that signs you in; elsewhere paste a token, for example the one in your
        kubeconfig:
      </p>
      <pre>kubectl config view --raw --minify --context federation -o jsonpath='{'{.users[0].user.token}'}'</pre>
      {props.problem ? (
        <p class="notice notice-bad" role="alert">
          {props.problem}
        </p>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) props.onToken(value.trim());
        }}
      >
        <label for="token">Bearer token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

const NAV: Array<{ view: Route['view'][]; href: string; label: string }> = [
  { view: ['fleet'], href: '#/', label: 'Fleet' },
  { view: ['objects', 'object'], href: '#/objects', label: 'Objects' },
  { view: ['runs', 'run'], href: '#/runs', label: 'Runs' },
  { view: ['rollouts'], href: '#/rollouts', label: 'Rollouts' },
  { view: ['events'], href: '#/events', label: 'Events' },
];

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  unauthorized: 'Signed out',
};

function Shell(props: { state: State; route: Route; onSignOut: () => void }) {
  const { state, route } = props;
  const [firstView] = useState(route.view);
  useEffect(() => {
    // Moving between views puts keyboard and screen-reader users at the start of the new one.
    if (route.view !== firstView) document.getElementById('main')?.focus();
  }, [route.view]);
  let view;
  switch (route.view) {
    case 'fleet':
      view = <Fleet state={state} />;
      break;
    case 'objects':
      view = <Objects state={state} route={route} />;
      break;
    case 'object':
      view = <ObjectView state={state} route={route} pods={(ns, selector) => store.memberPods(ns, selector)} />;
      break;
    case 'runs':
      view = <Runs state={state} />;
      break;
    case 'run':
      view = <RunView state={state} id={route.id} />;
      break;
    case 'rollouts':
      view = (
        <Rollouts
          state={state}
          act={(run, action, reason) => store.rolloutAction(run, action, reason ? { reason } : {})}
        />
      );
      break;
    case 'events':
      view = <Events state={state} />;
      break;
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">kitfed</span>
        <nav aria-label="Views">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <a href={n.href} aria-current={n.view.includes(route.view) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span
            class={`conn conn-${state.connection}`}
            role="status"
            aria-live="polite"
            title={state.problem ?? ''}
            data-connection={state.connection}
          >
            {CONNECTION_TEXT[state.connection]}
          </span>
          {state.session ? <span class="user">{state.session.user}</span> : null}
          <button type="button" class="link" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </>
  );
}

function App() {
  const [token, setToken] = useState<string | undefined>(
    () => takeTokenFromUrl() ?? sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  );
  const state = useStoreState();
  const route = useRoute();
  useEffect(() => {
    if (!token) return;
    store.connect(token);
    return () => store.disconnect();
  }, [token]);
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    store.disconnect();
    setToken(undefined);
  };
  if (!token || state.connection === 'unauthorized') {
    const problem =
      token && state.connection === 'unauthorized' ? `Your token was not accepted: ${state.problem}` : undefined;
    return (
      <Login
        {...(problem ? { problem } : {})}
        onToken={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          setToken(t);
          if (t === token) store.connect(t);
        }}
      />
    );
  }
  return <Shell state={state} route={route} onSignOut={signOut} />;
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
