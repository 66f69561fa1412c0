// The dashboard talks to the IonRank GraphQL API from the server (pages are server components), so the
// browser never needs the API's address or a key. No remote fonts or CDNs: it works offline.
/** @type {import('next').NextConfig} */
export default {
  reactStrictMode: true,
  poweredByHeader: false,
};
