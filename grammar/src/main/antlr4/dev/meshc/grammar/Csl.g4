// The Cerebras Software Language, as ../shared/reference/csl.md describes it (Zig-derived):
// top-level params, consts, vars, fns, tasks, comptime and layout blocks; statements; types as
// expressions; builtins; anonymous struct and tuple literals; typed array literals; tensor
// accesses for DSDs; captures; pointers. Permissive on purpose: cslc judges semantics, and
// meshc's checker evaluates the comptime layout of the projects meshc writes.
grammar Csl;

file        : topDecl* EOF ;

topDecl     : paramDecl
            | constDecl
            | varDecl
            | fnDecl
            | taskDecl
            | comptimeBlock
            | layoutBlock
            ;

paramDecl   : 'param' ID (':' type=expr)? ('=' value=expr)? ';' ;
constDecl   : 'const' ID (':' type=expr)? '=' value=expr ';' ;
varDecl     : 'var' ID (':' type=expr)? ('=' value=expr)? ';' ;
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
            | 'if' '(' cond=expr ')' capture? then=block
              ('else' (elseIf=stmt))?                                     # ifStmt
            | 'while' '(' cond=expr ')' capture? (':' '(' step=assign ')')? body=block  # whileStmt
            | 'for' '(' expr ')' capture body=block                       # forStmt
            | 'switch' '(' expr ')' '{' (switchArm (',' switchArm)* ','?)? '}'  # switchStmt
            | 'return' expr? ';'                                          # returnStmt
            | 'break' ';'                                                 # breakStmt
            | 'continue' ';'                                              # continueStmt
            | assign ';'                                                  # assignStmt
            | expr ';'                                                    # exprStmt
            ;

capture     : '|' '*'? ID (',' '*'? ID)* '|' ;
switchArm   : (expr (',' expr)* | 'else') '=>' (block | expr) ;
assign      : target=expr op=('=' | '+=' | '-=' | '*=' | '/=' | '%=' | '<<=' | '>>=' | '&=' | '|=' | '^=') value=expr ;

expr        : 'if' '(' cond=expr ')' then=expr 'else' other=expr         # ifExpr
            | expr postfix                                                # postfixExpr
            | op=('-' | '!' | '~' | '&' | '*') expr                       # unaryExpr
            | expr op=('*' | '/' | '%') expr                              # mulExpr
            | expr op=('+' | '-') expr                                    # addExpr
            | expr op=('<<' | '>>') expr                                  # shiftExpr
            | expr op=('&' | '^' | '|') expr                              # bitExpr
            | expr op=('==' | '!=' | '<' | '>' | '<=' | '>=') expr        # cmpExpr
            | expr 'and' expr                                             # andExpr
            | expr 'or' expr                                              # orExpr
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
            | arrayType '{' (expr (',' expr)* ','?)? '}'                  # arrayLit
            | '|' ID (',' ID)* '|' '{' expr (',' expr)* '}' '->' expr     # tensorAccess
            | typeExpr                                                    # typeLit
            | '(' expr ')'                                                # parens
            | ID                                                          # name
            ;

fieldInit   : '.' ID '=' expr ;

typeExpr    : arrayType                                                   # arrayTypeExpr
            | '[' '*' ']' expr                                            # manyPtrType
            | 'fn' '(' (expr (',' expr)* ','?)? ')' expr                  # fnType
            | 'struct' '{' (structField (',' structField)* ','?)? '}'     # structType
            | 'enum' ('(' expr ')')? '{' (ID (',' ID)* ','?)? '}'         # enumType
            ;

arrayType   : '[' expr (',' expr)* ']' elem=primary ;
structField : ID ':' expr ('=' expr)? ;

BUILTIN     : '@' [A-Za-z_] [A-Za-z0-9_]* ;
ID          : [A-Za-z_] [A-Za-z0-9_]* ;
FLOAT       : [0-9]+ '.' [0-9]+ ([eE] [+-]? [0-9]+)? | [0-9]+ [eE] [+-]? [0-9]+ ;
INT         : '0x' [0-9a-fA-F_]+ | '0b' [01_]+ | '0o' [0-7_]+ | [0-9] [0-9_]* ;
CHAR        : '\'' (~['\\\r\n] | '\\' ~[\r\n] | '\\x' [0-9a-fA-F] [0-9a-fA-F])+ '\'' ;
STRING      : '"' (~["\\\r\n] | '\\' .)* '"' ;
LINE_COMMENT: '//' ~[\r\n]* -> skip ;
WS          : [ \t\r\n]+ -> skip ;
