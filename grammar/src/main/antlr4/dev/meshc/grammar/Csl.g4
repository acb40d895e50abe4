// The Cerebras Software Language, as ../shared/reference/csl.md describes it (Zig-derived):
// top-level params, consts, vars, fns, tasks, comptime and layout blocks; statements; types as
// expressions; builtins; anonymous struct and tuple literals; typed array literals; tensor
// accesses for DSDs; captures; pointers. Permissive on purpose: cslc judges semantics, and
// meshc's checker evaluates the comptime layout of the projects meshc writes.
//
// Where the CSL docs (https://sdk.cerebras.net/csl/language/syntax and its siblings) say nothing,
// the rules follow Zig's grammar (https://ziglang.org/documentation/0.11.0/#Grammar), which CSL
// inherits: `export` and `align(...)` on declarations, braceless `if` bodies, an `if` expression
// whose `else` is optional, `{}` as the void value, enum members with explicit values.
grammar Csl;

file        : topDecl* EOF ;

// Zig's TopLevelDecl: `export` before a fn, const or var gives it a symbol the host or linker sees.
topDecl     : paramDecl
            | 'export'? constDecl
            | 'export'? varDecl
            | 'export'? fnDecl
            | taskDecl
            | comptimeBlock
            | layoutBlock
            ;

paramDecl   : 'param' ID (':' type=expr)? ('=' value=expr)? ';' ;
// Zig's VarDecl: an alignment in bytes may follow the type (`var a: [n]f32 align(16) = ...;`).
constDecl   : 'const' ID (':' type=expr)? byteAlign? '=' value=expr ';' ;
varDecl     : 'var' ID (':' type=expr)? byteAlign? ('=' value=expr)? ';' ;
// 'align' is a keyword only here, so a program may still name a fn align (meshc's GEMM kernel does)
byteAlign   : {getCurrentToken().getText().equals("align")}? ID '(' expr ')' ;
fnDecl      : 'fn' ID '(' params? ')' ret=expr block ;
taskDecl    : 'task' ID '(' params? ')' ret=expr block ;
params      : fnParam (',' fnParam)* ','? ;
fnParam     : 'comptime'? ID ':' expr ;
comptimeBlock : 'comptime' block ;
layoutBlock : 'layout' block ;

block       : '{' stmt* '}' ;

stmt        : constDecl                                                   # constStmt
            | varDecl                                                     # varStmt
            | block                                                       # blockStmt
            | comptimeBlock                                               # comptimeStmt
            // Zig's IfStatement: a block body, or a bare assignment or expression that ends in ';'
            // or runs straight into its 'else' (`if (a) f() else g();`). The 'else' takes any
            // statement, so `else if` chains nest; a dangling 'else' binds to the nearest 'if'.
            | 'if' '(' cond=expr ')' capture?
              ( then=block ('else' elseIf=stmt)?
              | bare=bareStmt (';' | 'else' elseIf=stmt) )               # ifStmt
            | 'while' '(' cond=expr ')' capture? (':' '(' step=assign ')')? body=block  # whileStmt
            | 'for' '(' expr ')' capture body=block                       # forStmt
            | 'switch' '(' expr ')' '{' (switchArm (',' switchArm)* ','?)? '}'  # switchStmt
            | 'return' expr? ';'                                          # returnStmt
            | 'break' ';'                                                 # breakStmt
            | 'continue' ';'                                              # continueStmt
            | assign ';'                                                  # assignStmt
            | expr ';'                                                    # exprStmt
            ;

bareStmt    : assign | expr ;
capture     : '|' '*'? ID (',' '*'? ID)* '|' ;
switchArm   : (expr (',' expr)* | 'else') '=>' (block | expr) ;
assign      : target=expr op=('=' | '+=' | '-=' | '*=' | '/=' | '%=' | '<<=' | '>>=' | '&=' | '|=' | '^=') value=expr ;

expr        : expr postfix                                                # postfixExpr
            | op=('-' | '!' | '~' | '&') expr                             # unaryExpr
            | op='*' 'const'? expr                                        # unaryExpr  // a pointer type, Zig's `*const T`
            | expr op=('*' | '/' | '%') expr                              # mulExpr
            | expr op=('+' | '-') expr                                    # addExpr
            | expr op=('<<' | '>>') expr                                  # shiftExpr
            | expr op=('&' | '^' | '|') expr                              # bitExpr
            | expr op=('==' | '!=' | '<' | '>' | '<=' | '>=') expr        # cmpExpr
            | expr 'and' expr                                             # andExpr
            | expr 'or' expr                                              # orExpr
            // Zig's IfExpr, lowest precedence so `else a + b` takes the sum; without an 'else' it
            // is void when the condition fails (`const t = if (wse2) a else if (wse3) b;`).
            | 'if' '(' cond=expr ')' then=expr ('else' other=expr)?       # ifExpr
            | primary                                                     # primaryExpr
            ;

postfix     : '(' args? ')'                                               # call
            | '[' expr (',' expr)* ']'                                    # index
            | '.' ID                                                      # field
            | '.' '*'                                                     # deref
            ;

args        : expr (',' expr)* ','? ;

primary     : INT                                                         # intLit
            | FLOAT                                                       # floatLit
            | CHAR                                                        # charLit
            | STRING                                                      # stringLit
            | ('true' | 'false')                                          # boolLit
            | BUILTIN '(' args? ')'                                       # builtinCall
            | '.' '{' (fieldInit (',' fieldInit)* ','?)? '}'              # structLit
            | '.' '{' expr (',' expr)* ','? '}'                           # tupleLit
            | '.' ID                                                      # enumLit
            | '{' '}'                                                     # voidLit
            | arrayType '{' (expr (',' expr)* ','?)? '}'                  # arrayLit
            | '|' ID (',' ID)* '|' '{' expr (',' expr)* '}' '->' expr     # tensorAccess
            | typeExpr                                                    # typeLit
            | '(' expr ')'                                                # parens
            | ID                                                          # name
            ;

fieldInit   : '.' ID '=' expr ;

typeExpr    : arrayType                                                   # arrayTypeExpr
            | '[' '*' ']' 'const'? expr                                   # manyPtrType
            // a task is typed like a fn (`param callback: task () void;`)
            | ('fn' | 'task') '(' (expr (',' expr)* ','?)? ')' expr      # fnType
            | 'struct' '{' (structField (',' structField)* ','?)? '}'     # structType
            | 'enum' ('(' expr ')')? '{' (enumMember (',' enumMember)* ','?)? '}'  # enumType
            ;

arrayType   : '[' expr (',' expr)* ']' elem=primary ;
structField : ID ':' expr ('=' expr)? ;
enumMember  : ID ('=' expr)? ;                                            // `enum(u16) { a = 0, b = 1 }`

BUILTIN     : '@' [A-Za-z_] [A-Za-z0-9_]* ;
ID          : [A-Za-z_] [A-Za-z0-9_]* ;
FLOAT       : [0-9]+ '.' [0-9]+ ([eE] [+-]? [0-9]+)? | [0-9]+ [eE] [+-]? [0-9]+ ;
INT         : '0x' [0-9a-fA-F_]+ | '0b' [01_]+ | '0o' [0-7_]+ | [0-9] [0-9_]* ;
CHAR        : '\'' (~['\\\r\n] | '\\' ~[\r\n] | '\\x' [0-9a-fA-F] [0-9a-fA-F])+ '\'' ;
STRING      : '"' (~["\\\r\n] | '\\' .)* '"' ;
LINE_COMMENT: '//' ~[\r\n]* -> skip ;
WS          : [ \t\r\n]+ -> skip ;
