# Checks man pages; run by ctest as
#   cmake -DMODE=lint|render -DMANDOC=/usr/bin/mandoc -DPAGES=a.1;b.1 -P check_man.cmake
# lint:   `mandoc -T lint -W warning` must print nothing and exit 0 for every page.
# render: `mandoc -T utf8` must render every page without a message, with a NAME section
#         that names the page and an EXIT STATUS section.
if(NOT MANDOC OR NOT EXISTS "${MANDOC}")
  message(FATAL_ERROR "mandoc not found; run scripts/setup (Debian package mandoc)")
endif()
if(NOT PAGES)
  message(FATAL_ERROR "no man pages given")
endif()

set(failed 0)
foreach(page IN LISTS PAGES)
  get_filename_component(name "${page}" NAME_WE)
  if(MODE STREQUAL "lint")
    execute_process(COMMAND "${MANDOC}" -T lint -W warning "${page}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT out STREQUAL "" OR NOT err STREQUAL "")
      message(SEND_ERROR "${page}: mandoc lint (exit ${rc}):\n${out}${err}")
      set(failed 1)
    else()
      message(STATUS "${name}.1: lint clean")
    endif()
  elseif(MODE STREQUAL "render")
    execute_process(COMMAND "${MANDOC}" -T utf8 "${page}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    # Drop overstrike (bold/underline) sequences so the text can be matched.
    string(ASCII 8 backspace)
    string(REGEX REPLACE "[^\n]${backspace}" "" text "${out}")
    if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
      message(SEND_ERROR "${page}: mandoc -T utf8 (exit ${rc}):\n${err}")
      set(failed 1)
    elseif(NOT text MATCHES "\nNAME\n +${name} [^\n]*\n" OR NOT text MATCHES "\nEXIT STATUS\n")
      message(SEND_ERROR "${page}: rendered page lacks a NAME line for ${name} or EXIT STATUS:\n"
                         "${text}")
      set(failed 1)
    else()
      string(LENGTH "${text}" n)
      message(STATUS "${name}.1: renders (${n} bytes)")
    endif()
  else()
    message(FATAL_ERROR "MODE must be lint or render, not '${MODE}'")
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "man page check failed")
endif()
