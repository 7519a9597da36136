// SPDX-License-Identifier: Apache-2.0

package pcipass

// #cgo pkg-config: pcipass
// #include <stdlib.h>
// #include <pcipass.h>
import "C"

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// versionError is set at init when the loaded library has another version.
var versionError error

func init() {
	encoded := uint32(C.pcipass_version())
	major, minor := int(encoded>>16&0xff), int(encoded>>8&0xff)
	// Before 1.0 every minor release may break the ABI (the soname carries
	// major.minor); from 1.0 on only the major version counts.
	if major != VersionMajor || (major == 0 && minor != VersionMinor) {
		versionError = fmt.Errorf("pcipass: the loaded libpcipass is %d.%d, but this package "+
			"was built for %d.%d", major, minor, VersionMajor, VersionMinor)
	}
}

// CheckVersion returns an error when the loaded library has another major
// version (before 1.0: another minor version) than this package.
func CheckVersion() error {
	return versionError
}

// Version returns the version of the loaded library.
func Version() (major, minor, patch int) {
	encoded := uint32(C.pcipass_version())
	return int(encoded >> 16 & 0xff), int(encoded >> 8 & 0xff), int(encoded & 0xff)
}

// cString copies value to a C string. pcipass strings end at the first NUL,
// so a value with a NUL inside is rejected instead of cut short. The error
// names the argument name.
func cString(name, value string) (*C.char, error) {
	if index := strings.IndexByte(value, 0); index >= 0 {
		return nil, &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(
			"%s contains a NUL byte at index %d; pcipass strings end at the first NUL, "+
				"so remove it", name, index)}
	}
	return C.CString(value), nil
}

// cDocument serializes value to a C string; nil gives NULL. A string with
// invalid UTF-8 is rejected, because json.Marshal would silently replace
// its bytes with U+FFFD and pcipass would act on another name.
func cDocument(value interface{}) (*C.char, error) {
	if value == nil {
		return nil, nil
	}
	if err := checkUTF8("", reflect.ValueOf(value)); err != nil {
		return nil, err
	}
	text, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("pcipass: %w", err)
	}
	return C.CString(string(text)), nil
}

// checkUTF8 returns an error matching ErrInvalidArgument for the first
// string beneath value that is not valid UTF-8, naming it by its JSON path.
func checkUTF8(path string, value reflect.Value) error {
	switch value.Kind() {
	case reflect.String:
		text := value.String()
		if utf8.ValidString(text) {
			return nil
		}
		index := 0
		for index < len(text) {
			r, size := utf8.DecodeRuneInString(text[index:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			index += size
		}
		name := path
		if name == "" {
			name = "the document"
		}
		return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(
			"%s contains invalid UTF-8 at byte %d; pcipass documents are JSON, so pass UTF-8 text",
			name, index)}
	case reflect.Pointer, reflect.Interface:
		if value.IsNil() {
			return nil
		}
		return checkUTF8(path, value.Elem())
	case reflect.Slice, reflect.Array:
		if value.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes are encoded as base64 or are raw JSON
		}
		for i := 0; i < value.Len(); i++ {
			if err := checkUTF8(fmt.Sprintf("%s[%d]", path, i), value.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := value.MapRange()
		for iter.Next() {
			key := fmt.Sprint(iter.Key().Interface())
			if err := checkUTF8(joinPath(path, "key "+key), iter.Key()); err != nil {
				return err
			}
			if err := checkUTF8(joinPath(path, key), iter.Value()); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := 0; i < value.NumField(); i++ {
			field := value.Type().Field(i)
			tag := strings.Split(field.Tag.Get("json"), ",")[0]
			if !field.IsExported() || tag == "-" {
				continue
			}
			// An embedded struct's fields are encoded at its own level.
			name := ""
			if !field.Anonymous {
				name = tag
				if name == "" {
					name = strings.ToLower(field.Name)
				}
			}
			if err := checkUTF8(joinPath(path, name), value.Field(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" || name == "" {
		return path + name
	}
	return path + "." + name
}

func free(text *C.char) {
	if text != nil {
		C.free(unsafe.Pointer(text))
	}
}

// takeString copies a string pcipass returned and frees it.
func takeString(text *C.char) []byte {
	if text == nil {
		return nil
	}
	defer C.pcipass_string_free(text)
	return []byte(C.GoString(text))
}

// check turns a status and its error object into a Go error, freeing the object.
func check(status C.int, err *C.pcipass_error) error {
	if status == C.PCIPASS_OK {
		return nil
	}
	return newError(Code(status), err)
}

// decode unmarshals a document that pcipass returned.
func decode(text []byte, value interface{}) error {
	if err := json.Unmarshal(text, value); err != nil {
		return fmt.Errorf("pcipass: cannot decode %.80s: %w", text, err)
	}
	return nil
}
