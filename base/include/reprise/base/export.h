// REPRISE_EXPORT marks the public API of Reprise's libraries. They are built
// with hidden symbols (cmake/RepriseLibrary.cmake), so that a shared library
// exports only what a host may call and keeps its internals its own.
#pragma once

#define REPRISE_EXPORT [[gnu::visibility("default")]]
